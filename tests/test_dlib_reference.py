"""The dlib reference's box map and its worker protocol (dlib itself runs only when its
environment exists)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bench import dlib_reference as D
from tests.conftest import REPO


def test_box_map_recovers_a_known_shift_and_scale():
    rng = np.random.default_rng(0)
    centres = rng.uniform(50, 200, (20, 2))
    sizes = rng.uniform(40, 120, (20, 2))
    lm = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    truth = {"dx": 0.05, "dy": 0.12, "sx": 1.1, "sy": 0.95}
    det = np.stack([D.map_box(b, truth) for b in lm])
    fitted = D.fit_box_map(lm, det)
    for key, value in truth.items():
        assert fitted[key] == pytest.approx(value)
    np.testing.assert_allclose(D.map_box(lm[3], fitted), det[3])
    assert D.iou(lm[0], lm[0]) == pytest.approx(1.0)
    assert D.iou(np.array([0, 0, 2, 2.0]), np.array([1, 0, 3, 2.0])) == pytest.approx(1 / 3)


def test_worker_refuses_an_unknown_task():
    proc = subprocess.run([sys.executable, str(D.WORKER)], input=json.dumps({"task": "x"}),
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2 and "unknown task" in proc.stderr


def test_a_missing_dlib_environment_is_named(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bench.dlib_reference",
                           f"--dlib_python={tmp_path / 'nope'}", f"--out={tmp_path / 'o'}"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode != 0 and "make dlib-venv" in proc.stderr
