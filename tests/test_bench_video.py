"""The video benchmark's clip and measures on known signals: jitter, lag and NME."""

from __future__ import annotations

import numpy as np
import pytest

from bench.video_synthetic import ClipSpec, jitter, lag_frames, nme, render_clip, trajectory


def test_trajectory_rests_moves_smoothly_and_rests():
    spec = ClipSpec(fps=30, still=1.0, motion=2.0)
    params, moving = trajectory(spec)
    assert len(params) == 120 and moving.sum() == 60 and not moving[:30].any()
    speed = np.abs(np.diff(params[:, 0]))
    assert speed[:29].max() == 0 and speed[91:].max() == 0
    assert speed.max() < 40 * 2 * np.pi / 60 + 1e-6  # a sine of amplitude 40 over 60 frames


def test_measures_on_known_signals():
    rng = np.random.default_rng(0)
    t = np.arange(200)
    moving = (t >= 50) & (t < 150)
    centre = np.where(moving, 30 * np.sin(2 * np.pi * (t - 50) / 100), 0.0)
    base = rng.uniform(0, 60, (68, 2))
    base[36], base[45] = (10, 20), (60, 20)  # inter-ocular distance 50
    truth = base[None] + np.stack([centre, 0.5 * centre], axis=-1)[:, None]
    assert nme(truth, truth).max() == 0 and jitter(truth, truth, ~moving) == 0
    delayed = np.concatenate([np.repeat(truth[:1], 3, axis=0), truth[:-3]])
    assert lag_frames(delayed, truth, moving) == pytest.approx(3, abs=0.05)
    assert lag_frames(truth, truth, moving) == pytest.approx(0, abs=0.05)
    noisy = truth + rng.normal(0, 0.5, truth.shape)
    # mean |difference of two N(0, 0.5^2 I) 2-D points| = sqrt(pi) * 0.5, over 50 px, in %
    assert jitter(noisy, truth, ~moving) == pytest.approx(np.sqrt(np.pi) * 0.5 / 50 * 100,
                                                          rel=0.05)
    assert nme(truth + [3.0, 4.0], truth) == pytest.approx(10.0)


def test_the_clip_has_the_trajectory_and_fresh_noise():
    frames, landmarks, moving = render_clip(ClipSpec(still=0.2, motion=0.4, image_size=128))
    assert len(frames) == len(landmarks) == 24 and moving.sum() == 12
    assert frames[0].shape == (128, 128, 3) and frames[0].dtype == np.uint8
    np.testing.assert_allclose(landmarks[0], landmarks[5])  # at rest the truth stays
    assert np.abs(frames[0].astype(int) - frames[1]).mean() > 1  # but each frame is new
    assert np.abs(landmarks[12] - landmarks[0]).max() > 5
