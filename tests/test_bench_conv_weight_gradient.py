"""``bench/conv_weight_gradient.py`` at batch 1 with the tiny preset: JSON layout, the product
equal to ``Conv2DBackpropFilter`` at every layer size, and the pick following the rule."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.conftest import REPO

# a benchmark smoke test (ten layer sizes and two training models): `make test-large`
pytestmark = pytest.mark.large


def test_conv_weight_gradient_bench_writes_results(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "cwg.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "bench/conv_weight_gradient.py", f"--out={out}", "--batch_size=1",
         "--repeats=1", "--preset=tiny", "--pairs=1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert len(data["layers"]) == 10 and "cpu_model" in data["machine_at_start"]
    for row in data["layers"]:
        assert row["max_relative_difference"] < 1e-4, row
        assert row["native_ms"] > 0 and row["gemm_ms"] > 0
        big = (row["size"] ** 2 >= 64 * 64 and row["in_channels"] >= 128) or (
            row["size"] ** 2 >= 128 * 128 and row["in_channels"] >= 64)
        assert row["picked"] == (data["onednn"] and big and row["out_channels"] >= 32), row
    step = data["train_step"]
    assert step["preset"] == "tiny" and len(step["speedup_per_pair"]) == 1
    assert step["native_images_per_second"] > 0 and step["auto_images_per_second"] > 0
