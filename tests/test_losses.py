"""Adaptive Wing loss, Weighted Loss Map and baselines against the paper's equations."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from awing_tf import losses


def awing_reference(y: float, y_hat: float, omega=14.0, theta=0.5, eps=1.0, alpha=2.1) -> float:
    """Eq. 3 written out in float64, independently of the implementation."""
    d = abs(y - y_hat)
    p = alpha - y
    if d < theta:
        return omega * math.log(1.0 + (d / eps) ** p)
    a = omega * (1.0 / (1.0 + (theta / eps) ** p)) * p * (theta / eps) ** (p - 1.0) / eps
    c = theta * a - omega * math.log(1.0 + (theta / eps) ** p)
    return a * d - c


def _awing(y, y_hat):
    return losses.adaptive_wing_elementwise(tf.constant(y, tf.float32),
                                            tf.constant(y_hat, tf.float32)).numpy()


def test_hand_value_y0_yhat1():
    # A = 14 / (1 + 0.5^2.1) * 2.1 * 0.5^1.1 = 11.1216..., C = 0.5 A - 14 ln(1 + 0.5^2.1).
    assert float(_awing(0.0, 1.0)) == pytest.approx(8.495946, abs=2e-5)
    assert awing_reference(0.0, 1.0) == pytest.approx(8.495946, abs=1e-6)


@pytest.mark.parametrize("y", [0.0, 0.2, 0.5, 0.8, 1.0])
def test_matches_reference_on_a_grid(y):
    y_hat = np.linspace(-2.0, 3.0, 101)
    got = _awing(np.full_like(y_hat, y), y_hat)
    want = [awing_reference(y, v) for v in y_hat]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("y", [0.0, 0.3, 0.7, 1.0])
def test_continuous_and_c1_at_theta(y):
    theta, h = 0.5, 1e-3
    y_hat = tf.Variable([y + theta - h, y + theta + h, y - theta + h, y - theta - h], tf.float32)
    with tf.GradientTape() as tape:
        val = losses.adaptive_wing_elementwise(tf.fill([4], y), y_hat)
    grad = tape.gradient(val, y_hat).numpy()
    v = val.numpy()
    assert abs(v[0] - v[1]) < 0.05 and abs(v[2] - v[3]) < 0.05
    # The derivative on both sides of |d| = theta agrees (smooth join, eq. 3's A and C).
    assert grad[0] == pytest.approx(grad[1], rel=0.02)
    assert grad[2] == pytest.approx(grad[3], rel=0.02)


def test_gradient_zero_at_target_and_finite_everywhere():
    y = tf.constant([0.0, 0.25, 0.5, 1.0, 1.0, 0.0, 0.6], tf.float32)
    y_hat = tf.Variable([0.0, 0.25, 0.5, 1.0, 1e30, -1e30, 0.6 - 1e-3], tf.float32)
    with tf.GradientTape() as tape:
        val = losses.adaptive_wing_elementwise(y, y_hat)
    grad = tape.gradient(val, y_hat).numpy()
    assert np.all(np.isfinite(val.numpy())) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad[:4], 0.0, atol=1e-12)
    # d/dy_hat of omega ln(1 + d^p) with d = y - y_hat: -omega p d^(p-1) / (1 + d^p).
    d, p = 1e-3, 2.1 - 0.6
    assert grad[6] == pytest.approx(-14.0 * p * d ** (p - 1) / (1 + d**p), rel=2e-2)


@pytest.mark.parametrize("y", [0.0, 0.2, 0.5, 0.8, 1.0])
def test_gradient_matches_central_differences_of_the_reference(y):
    """The written-out gradient against float64 central differences of eq. 3 (both branches,
    both signs of d; points within 1e-3 of the kinks |d| = 0 and |d| = theta are left out)."""
    y_hat = np.linspace(-1.5, 2.5, 81)
    y_hat = y_hat[(np.abs(np.abs(y_hat - y) - 0.5) > 1e-3) & (np.abs(y_hat - y) > 1e-3)]
    v = tf.Variable(y_hat.astype(np.float32))
    with tf.GradientTape() as tape:
        val = losses.adaptive_wing_elementwise(tf.fill(v.shape, float(y)), v)
    got = tape.gradient(val, v).numpy()
    h = 1e-6
    want = [(awing_reference(y, u + h) - awing_reference(y, u - h)) / (2 * h) for u in y_hat]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_no_gradient_to_the_target():
    y = tf.Variable([0.2, 0.7], tf.float32)
    y_hat = tf.Variable([0.5, 0.1], tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        val = tf.reduce_sum(losses.adaptive_wing_elementwise(y, y_hat))
    assert tape.gradient(val, y) is None
    assert tape.gradient(val, y_hat) is not None


def test_like_mse_for_background_and_like_wing_for_foreground():
    # y = 0: exponent 2.1, so AWing ~ omega * |d|^2.1 for small d (MSE-like, Fig. 4).
    d = np.array([0.01, 0.02, 0.05])
    bg = _awing(np.zeros(3), d)
    np.testing.assert_allclose(bg, 14.0 * d**2.1, rtol=1e-3)
    # y = 1: exponent 1.1, close to Wing's omega * ln(1 + |d|/eps) (same omega, eps).
    fg = _awing(np.ones(3), 1.0 - d)
    wing = 14.0 * np.log1p(d)
    ratio = fg / wing
    assert np.all(ratio > 0.5) and np.all(ratio < 1.0)
    # Foreground small errors weigh far more than background ones (the point of the loss).
    assert np.all(fg > 5 * bg)


def test_weighted_loss_map_is_dilated_threshold():
    y = np.zeros((1, 7, 7, 1), np.float32)
    y[0, 3, 3, 0] = 1.0
    y[0, 0, 6, 0] = 0.15  # below the threshold even after dilation
    wm = losses.weighted_loss_map(tf.constant(y)).numpy()[0, ..., 0]
    want = np.ones((7, 7))
    want[2:5, 2:5] = 11.0  # 3x3 grey dilation of the peak, >= 0.2 -> W + 1
    np.testing.assert_array_equal(wm, want)


def test_base_weight_map():
    y = tf.constant([[[[0.0], [0.5]], [[1.0], [0.25]]]])
    np.testing.assert_allclose(losses.base_weight_map(y).numpy().ravel(), [1, 6, 11, 3.5])


def test_loss_class_is_mean_of_elementwise_times_map():
    rng = np.random.default_rng(0)
    y = rng.uniform(0, 1, (2, 6, 6, 3)).astype(np.float32) ** 4
    y_hat = rng.normal(0, 0.5, (2, 6, 6, 3)).astype(np.float32)
    ref = np.vectorize(awing_reference)(y.astype(np.float64), y_hat.astype(np.float64))
    wm = losses.weighted_loss_map(tf.constant(y)).numpy()
    got = float(losses.AdaptiveWingLoss()(y, y_hat))
    assert got == pytest.approx(float(np.mean(ref * wm)), rel=1e-5)
    got_nomap = float(losses.AdaptiveWingLoss(use_weight_map=False)(y, y_hat))
    assert got_nomap == pytest.approx(float(np.mean(ref)), rel=1e-5)
    mse_map = float(losses.get_loss("mse_map")(y, y_hat))
    assert mse_map == pytest.approx(float(np.mean((y - y_hat) ** 2 * wm)), rel=1e-5)


def test_wing_reference():
    d = np.array([0.5, 3.0, 12.0])
    got = losses.wing_elementwise(tf.zeros(3), tf.constant(d, tf.float32)).numpy()
    c = 10 - 10 * math.log(1 + 10 / 2)
    want = [10 * math.log(1 + 0.5 / 2), 10 * math.log(1 + 3 / 2), 12 - c]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_serialization_round_trip():
    loss = losses.AdaptiveWingLoss(omega=10.0, theta=0.3, weight_map="base")
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, losses.AdaptiveWingLoss)
    assert restored.get_config() == loss.get_config()


@pytest.mark.parametrize("kwargs", [{"omega": -1.0}, {"alpha": 1.0}, {"weight_map": "x"}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        losses.AdaptiveWingLoss(**kwargs)


def test_get_loss_unknown():
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get_loss("l7")


def test_config_loss_parameters_reach_the_compiled_loss():
    import awing_tf
    from awing_tf import config as cfg_lib
    from awing_tf.training import compile_for_training, make_loss

    cfg = cfg_lib.apply_overrides(cfg_lib.preset("tiny"), [
        "train.awing_theta=0.3", "train.awing_omega=10", "train.weight_map_weight=5"])
    model = awing_tf.build_model(cfg)
    compile_for_training(model, cfg, steps_per_epoch=1)
    compiled = model.loss if isinstance(model.loss, list) else [model.loss]
    assert len(compiled) == cfg.model.num_stacks
    assert all(isinstance(loss, losses.AdaptiveWingLoss) for loss in compiled)
    assert (compiled[0].theta, compiled[0].omega, compiled[0].weight) == (0.3, 10.0, 5.0)
    # The loss value follows: theta=0.3 vs the paper's 0.5 at a pixel between the thetas.
    y = np.zeros((1, 4, 4, 1), np.float32)
    y_hat = np.full((1, 4, 4, 1), 0.4, np.float32)
    paper = make_loss(cfg_lib.preset("tiny"), "awing_nomap")
    changed = make_loss(cfg, "awing_nomap")
    # d = 0.4 is past theta = 0.3 (linear part) but inside theta = 0.5 (log part).
    assert float(changed(y, y_hat)) == pytest.approx(
        awing_reference(0.0, 0.4, omega=10.0, theta=0.3), rel=1e-5)
    assert float(paper(y, y_hat)) == pytest.approx(awing_reference(0.0, 0.4), rel=1e-5)
    mse = make_loss(cfg, "mse_map")
    assert isinstance(mse, losses.HeatmapMSE) and mse.weight == 5.0
