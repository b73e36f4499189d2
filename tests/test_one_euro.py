"""The One Euro filter against values worked out by hand from Casiez et al.'s equations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from awing_tf.inference.one_euro import OneEuroFilter, smoothing_factor


def test_smoothing_factor_by_hand():
    # fc = 1 Hz, dt = 1/30 s: tau = 1 / (2 pi), alpha = 1 / (1 + 30 / (2 pi))
    assert smoothing_factor(1.0, 1 / 30) == pytest.approx(1 / (1 + 30 / (2 * math.pi)))


def test_three_samples_by_hand():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.5, d_cutoff=2.0)
    dt = 0.1
    assert f(np.array([10.0]), 0.0, scale=2.0)[0] == 10.0  # the first passes through
    # second sample 12 at t = 0.1, scale 2: speed (12 - 10) / 0.1 / 2 = 10
    a_d = 1 / (1 + 1 / (2 * math.pi * 2.0 * dt))
    dx = a_d * 10.0
    a = 1 / (1 + 1 / (2 * math.pi * (1.0 + 0.5 * dx) * dt))
    x1 = a * 12 + (1 - a) * 10
    assert f(np.array([12.0]), 0.1, scale=2.0)[0] == pytest.approx(x1, rel=1e-12)
    # third sample 12 again at t = 0.2
    dx2 = a_d * ((12 - x1) / dt / 2.0) + (1 - a_d) * dx
    a2 = 1 / (1 + 1 / (2 * math.pi * (1.0 + 0.5 * abs(dx2)) * dt))
    x2 = a2 * 12 + (1 - a2) * x1
    assert f(np.array([12.0]), 0.2, scale=2.0)[0] == pytest.approx(x2, rel=1e-12)


def test_beta_zero_is_a_first_order_low_pass_and_arrays_are_independent():
    f = OneEuroFilter(min_cutoff=2.0, beta=0.0)
    a = smoothing_factor(2.0, 0.05)
    f(np.zeros((3, 2)), 0.0)
    got = f(np.ones((3, 2)) * [[1, 2]], 0.05)
    np.testing.assert_allclose(got, a * np.ones((3, 2)) * [[1, 2]])


def test_smoothing_cuts_noise_and_beta_follows_motion():
    rng = np.random.default_rng(0)
    t = np.arange(120) / 30
    still = 100 + rng.normal(0, 1.0, 120)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    out = np.array([f(np.array([v]), s)[0] for v, s in zip(still, t, strict=True)])
    assert np.abs(np.diff(out[30:])).mean() < 0.3 * np.abs(np.diff(still[30:])).mean()
    ramp = 100 + 300 * t  # 300 px/s
    lag = {}
    for beta in (0.0, 1.0):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta)
        out = np.array([f(np.array([v]), s, scale=100.0)[0] for v, s in zip(ramp, t, strict=True)])
        lag[beta] = (ramp[-1] - out[-1]) / 10  # frames behind at 10 px per frame
    assert lag[1.0] < 0.5 * lag[0.0]


def test_restart_and_bad_arguments():
    f = OneEuroFilter()
    f(np.array([1.0]), 1.0)
    assert f(np.array([5.0]), 1.0)[0] == 5.0  # same time: restarts
    assert f(np.array([1.0, 2.0]), 2.0).tolist() == [1.0, 2.0]  # new shape: restarts
    for kwargs, message in (({"min_cutoff": 0}, "min_cutoff"), ({"beta": -1}, "beta"),
                            ({"d_cutoff": -2}, "d_cutoff")):
        with pytest.raises(ValueError, match=message):
            OneEuroFilter(**kwargs)
    with pytest.raises(ValueError, match="scale"):
        f(np.array([1.0]), 3.0, scale=0)
