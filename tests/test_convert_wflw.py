"""convert_wflw on the real WFLW-layout sample and on broken annotation lines."""

from __future__ import annotations

import os
import pathlib
import shutil

import numpy as np
import pytest

from data_tools.convert_wflw import ANNOTATION_DIR, convert_wflw
from data_tools.writing import OutputSpec
from tests.test_records import assert_no_tmp, help_text, read_back, run_cli


def _lines(root: pathlib.Path) -> list[list[str]]:
    text = (root / ANNOTATION_DIR / "list_98pt_rect_attr_test.txt").read_text()
    return [ln.split() for ln in text.splitlines() if ln.strip()]


def test_real_sample(real_data: pathlib.Path, tmp_path: pathlib.Path):
    root = real_data / "smoke_real" / "wflw_format"
    lines = _lines(root)
    summary = convert_wflw(root, OutputSpec(str(tmp_path / "w"), num_shards=2), subset="test")
    assert summary.total_written == len(lines) == 4 and summary.total_skipped == 0
    assert_no_tmp(tmp_path)
    recs = {r["source_id"]: r for r in read_back(tmp_path / "w-*", 98)}
    counts: dict[str, int] = {}
    for parts in lines:
        n = counts.get(parts[206], 0)
        counts[parts[206]] = n + 1
        r = recs[f"{parts[206]}#{n}"]
        want = np.asarray(parts[:196], np.float32).reshape(98, 2)
        np.testing.assert_array_equal(r["landmarks"], want)
        np.testing.assert_array_equal(r["bbox"], np.asarray(parts[196:200], np.float32))
        np.testing.assert_array_equal(r["attributes"], np.asarray(parts[200:206], int))
        raw = (root / "WFLW_images" / parts[206]).read_bytes()
        assert r["image_bytes"] == raw


def test_broken_lines(real_data: pathlib.Path, tmp_path: pathlib.Path):
    src = real_data / "smoke_real" / "wflw_format"
    root = tmp_path / "wflw"
    shutil.copytree(src / "WFLW_images", root / "WFLW_images", copy_function=os.symlink)
    (root / ANNOTATION_DIR).mkdir(parents=True)
    lines = _lines(src)
    good = lines[0]
    short = good[:195] + good[196:]
    nan = list(good)
    nan[10] = "nan"
    outside = list(good)
    outside[196:200] = ["9000", "9000", "9100", "9100"]
    missing = good[:206] + ["nowhere/missing.jpg"]
    text = "\n".join(" ".join(p) for p in [good, short, nan, outside, missing, lines[1]])
    (root / ANNOTATION_DIR / "list_98pt_rect_attr_train.txt").write_text(text + "\n")
    summary = convert_wflw(root, OutputSpec(str(tmp_path / "b"), num_shards=2), subset="train")
    assert summary.total_written == 2
    assert dict(summary.skipped) == {"bad_line": 1, "non_finite_landmarks": 1,
                                     "box_outside_image": 1, "missing_image": 1}
    assert_no_tmp(tmp_path)
    assert len(read_back(tmp_path / "b-*", 98)) == 2


def test_bad_subset(tmp_path: pathlib.Path):
    with pytest.raises(ValueError):
        convert_wflw(tmp_path, OutputSpec(str(tmp_path / "x")), subset="val")


def test_cli(real_data: pathlib.Path, tmp_path: pathlib.Path):
    out = help_text("data_tools.convert_wflw")
    for flag in ("--input", "--output", "--num_shards", "--split", "--seed", "--subset"):
        assert flag in out
    run_cli("data_tools.convert_wflw", f"--input={real_data / 'smoke_real' / 'wflw_format'}",
            f"--output={tmp_path / 'w'}", "--subset=test", "--split=train=0.5,val=0.5")
    assert len(read_back(tmp_path / "w_*", 98)) == 4
