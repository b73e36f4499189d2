"""A converter given a missing or unreadable input stops with one line naming it, no traceback."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

from data_tools.convert_lsp import load_joints
from data_tools.matlab import load_matlab_v5

REPO = pathlib.Path(__file__).resolve().parents[1]


def run_converter(module: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", f"data_tools.{module}", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("module,input_name,named", [
    ("convert_300w", "no_such_dir", "no_such_dir"),
    ("convert_wflw", "no_such_dir", "list_98pt_rect_attr_train.txt"),
    ("convert_cofw", "no_such.mat", "no_such.mat"),
    ("convert_lsp", "no_such_dir", "joints.mat"),
    ("convert_generic", "no_such.csv", "no_such.csv"),
])
def test_missing_input_is_a_one_line_error(tmp_path: pathlib.Path, module: str,
                                           input_name: str, named: str):
    out = tmp_path / "out" / "x"
    proc = run_converter(module, f"--input={tmp_path / input_name}", f"--output={out}")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert named in proc.stderr
    assert not out.parent.exists() or not any(out.parent.iterdir())  # nothing written


def test_corrupt_mat_names_the_file(tmp_path: pathlib.Path):
    bad = tmp_path / "joints.mat"
    bad.write_bytes(b"this is not a MATLAB file" * 20)
    with pytest.raises(ValueError, match="joints.mat: not a readable MATLAB file"):
        load_joints(bad)
    proc = run_converter("convert_lsp", f"--input={tmp_path}", f"--output={tmp_path / 'o'}")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "not a readable MATLAB file" in proc.stderr


def test_mat_without_joints_variable(tmp_path: pathlib.Path):
    path = tmp_path / "joints.mat"
    scipy.io.savemat(str(path), {"points": np.zeros((14, 3, 2))})
    with pytest.raises(ValueError, match=r"no 'joints' variable; found \['points'\]"):
        load_joints(path)


def test_load_matlab_v5_missing(tmp_path: pathlib.Path):
    with pytest.raises(FileNotFoundError, match="absent.mat: no such file"):
        load_matlab_v5(tmp_path / "absent.mat")


@pytest.mark.parametrize("module,input_name", [
    ("convert_wflw", "no_such_dir"),
    ("convert_cofw", "no_such.mat"),
    ("convert_lsp", "no_such_dir"),
])
def test_fixed_scheme_converters_have_no_scheme_flag(tmp_path: pathlib.Path, module: str,
                                                     input_name: str):
    proc = run_converter(module, f"--input={tmp_path / input_name}",
                         f"--output={tmp_path / 'x'}", "--scheme=300w68")
    assert proc.returncode != 0
    assert "Unknown command line flag 'scheme'" in proc.stderr
