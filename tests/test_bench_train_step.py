"""``bench/train_step.py`` on the tiny preset: JSON layout and the BatchNorm switch."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.conftest import REPO

# a benchmark smoke test (two training processes): `make test-large`, like tests/test_bench_scripts.py
pytestmark = pytest.mark.large


@pytest.mark.parametrize("batch_norm", ["fused", "keras"])
def test_train_step_bench_writes_results(tmp_path: pathlib.Path, batch_norm: str) -> None:
    out = tmp_path / "train_step.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "bench/train_step.py", f"--out={out}", "--presets=tiny",
         "--precisions=float32", "--warmup=1", "--steps=1", "--batch_size=2",
         f"--batch_norm={batch_norm}", "--inter_op_threads=1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["batch_norm"] == batch_norm and data["inter_op_threads"] == 1
    r = data["results"]["tiny"]["float32"]
    assert r["train_images_per_second"] > 0 and r["forward_images_per_second"] > 0
    assert r["peak_rss_gib"] > 0
    assert r["parameters"] == 35454  # same weights either way
