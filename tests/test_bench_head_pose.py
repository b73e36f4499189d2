"""The head-pose benchmark's true-landmark part (no model) on a few poses."""

from __future__ import annotations

import numpy as np

from bench import head_pose as bench


def test_rows_cover_the_sweeps():
    rows = bench.rows()
    assert [r["sweep"] for r in rows].count("yaw") == 4
    assert rows[3]["max_degrees"] == {"yaw": 60.0, "pitch": 10.0, "roll": 15.0}
    assert rows[-1] == {"sweep": "combined",
                        "max_degrees": {"yaw": 60.0, "pitch": 30.0, "roll": 45.0}}


def test_true_landmarks_recover_the_poses():
    rng = np.random.default_rng(0)
    poses, angles = bench.sample_poses(rng, 8, {"yaw": 45.0, "pitch": 20.0, "roll": 30.0}, 256)
    assert angles.shape == (8, 3) and np.all(np.abs(angles) <= [45, 20, 30])
    truth = bench.true_landmarks(rng, poses)
    assert truth.shape == (8, 68, 2)
    near_ortho = bench.angle_errors(truth, angles, 256, focal_factor=20.0)
    assert max(near_ortho["mae"].values()) < 1.5 and max(near_ortho["max"].values()) < 5.0
    default = bench.angle_errors(truth, angles, 256, focal_factor=1.0)
    assert max(default["mae"].values()) < 4.0


def test_summary_stops_at_the_first_failing_range():
    def row(sweep, limit, mae):
        m = {"yaw": 15.0, "pitch": 10.0, "roll": 15.0, sweep: limit}
        return {"sweep": sweep, "max_degrees": m,
                "true": {"f=1W": {"mae": {"yaw": mae, "pitch": 1.0, "roll": 1.0}}}}
    rows = [row("yaw", 15.0, 1.0), row("yaw", 30.0, 6.0), row("yaw", 45.0, 2.0),
            row("pitch", 10.0, 7.0)]
    got = bench.summary(rows, 5.0)
    assert got == {"true": {"f=1W": {"yaw": 15.0, "pitch": None}}}
