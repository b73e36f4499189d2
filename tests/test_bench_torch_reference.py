"""bench/torch_reference.py: its argument checks (PyTorch itself is not installed here)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "bench/torch_reference.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_requires_a_torch_interpreter():
    res = _run()
    assert res.returncode == 2
    assert "--torch_python is required" in res.stderr


def test_names_a_missing_interpreter(tmp_path):
    missing = tmp_path / "no-python"
    res = _run(f"--torch_python={missing}")
    assert res.returncode == 2
    assert str(missing) in res.stderr and "not an executable" in res.stderr


def test_rejects_an_unknown_memory_format():
    res = _run(f"--torch_python={sys.executable}", "--memory_formats=nhwc")
    assert res.returncode == 2
    assert "'nhwc'" in res.stderr


def test_rejects_an_unknown_precision():
    res = _run(f"--torch_python={sys.executable}", "--precision=float16")
    assert res.returncode == 2
    assert "'float16'" in res.stderr and "float32" in res.stderr
