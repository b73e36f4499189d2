"""NME, failure rate, AUC and CED against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from awing_tf import metrics
from awing_tf.codec import HeatmapCodec
from awing_tf.config import HeatmapSpec
from awing_tf.training.nme_metric import NormalizedMeanError

CODEC = HeatmapCodec(HeatmapSpec("300w68", input_size=128, heatmap_size=32))


def _face(scale: float = 1.0) -> np.ndarray:
    gt = np.zeros((68, 2))
    gt[36] = [0.0, 0.0]
    gt[45] = [100.0 * scale, 0.0]
    gt[37:42] = [0.0, 0.0]
    gt[42:48] = [100.0 * scale, 0.0]
    gt[36:42, 1] = [0, 2, 2, 0, -2, -2]  # eye centre still at y = 0
    gt[42:48, 1] = [0, 2, 2, 0, -2, -2]
    return gt


def test_nme_hand_value():
    gt = _face()
    pred = gt.copy()
    pred[:, 0] += 3.0  # every point 3 px off: NME = 3 / 100
    pred[0, 1] += 4.0  # one point (3, 4) off: 5 px, mean = (67 * 3 + 5) / 68
    d = metrics.normalizer_distance(gt, "300w68", "inter_ocular")
    assert d[0] == pytest.approx(100.0)
    assert metrics.nme(pred, gt, d)[0] == pytest.approx((67 * 3 + 5) / 68 / 100)


def test_inter_pupil_uses_eye_centres():
    gt = _face()
    gt[36] = [-10.0, 0.0]  # outer corner moves, eye centre moves by -10/6
    d_io = metrics.normalizer_distance(gt, "300w68", "inter_ocular")[0]
    d_ip = metrics.normalizer_distance(gt, "300w68", "inter_pupil")[0]
    assert d_io == pytest.approx(110.0)
    assert d_ip == pytest.approx(100.0 + 10.0 / 6.0)


def test_box_normalizer():
    gt = np.array([[0, 0], [40, 10], [10, 90]], float)
    assert metrics.normalizer_distance(gt, "300w68", "box")[0] == pytest.approx(60.0)


def test_failure_rate_and_auc_by_hand():
    e = np.array([0.02, 0.04, 0.2, 0.1])
    assert metrics.failure_rate(e, 0.1) == 0.25  # strictly larger than the threshold
    # AUC@0.1 = mean(max(0, 0.1 - e)) / 0.1 = (0.08 + 0.06 + 0 + 0) / 4 / 0.1 = 0.35
    assert metrics.auc(e, 0.1) == pytest.approx(0.35)
    xs, ced = metrics.ced_curve(e, 0.1, num=100001)
    assert np.trapezoid(ced, xs) / 0.1 == pytest.approx(0.35, abs=1e-4)
    assert ced[-1] == 0.75 and ced[0] == 0.0  # 0.1 itself counts as <= 0.1
    s = metrics.summarize(e)
    assert s["fr_8"] == 0.5 and s["nme"] == pytest.approx(0.09)


def test_bad_inputs():
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.nme(np.zeros((2, 68, 2)), np.zeros((2, 5, 2)), 1.0)
    with pytest.raises(ValueError, match="normalizer"):
        metrics.nme(np.zeros((68, 2)), np.zeros((68, 2)), 0.0)
    with pytest.raises(ValueError, match="not defined"):
        metrics.normalizer_distance(np.zeros((68, 2)), "300w68", "torso")


def test_keras_metric_matches_numpy_nme():
    rng = np.random.default_rng(0)
    gt = rng.uniform(30, 100, (3, 68, 2)).astype(np.float32)
    pred = (gt + rng.normal(0, 2.0, gt.shape)).astype(np.float32)
    y_true = CODEC.encode(gt)
    y_pred = CODEC.encode(pred)
    m = NormalizedMeanError(scheme="300w68", decode="subpixel")
    m.update_state(y_true, y_pred)
    # The metric works in heatmap pixels; NME is scale-free, so it equals the input-pixel NME
    # of the decoded points, which are within 0.1 heatmap px of the encoded ones.
    want = metrics.nme(pred, gt, metrics.normalizer_distance(gt, "300w68")).mean()
    assert float(m.result()) == pytest.approx(want, abs=0.004)
    m.reset_state()
    assert float(m.result()) == 0.0
    assert isinstance(tf.constant(0.0), tf.Tensor)


def test_keras_metric_skips_landmarks_outside_the_crop():
    rng = np.random.default_rng(1)
    gt = rng.uniform(30, 100, (2, 68, 2)).astype(np.float32)
    pred = (gt + 1.0).astype(np.float32)
    gt_cut = gt.copy()
    gt_cut[0, 0:5] = -500.0  # five jaw points far outside the crop: no target peak
    gt_cut[1, 36] = -500.0   # image 1 loses a normalizer point: not counted at all
    m = NormalizedMeanError(scheme="300w68", decode="subpixel")
    m.update_state(CODEC.encode(gt_cut), CODEC.encode(pred))
    d0 = metrics.normalizer_distance(gt[0], "300w68")[0]
    want = np.sqrt(2.0) / d0  # every remaining point of image 0 is off by (1, 1)
    assert float(m.result()) == pytest.approx(want, rel=0.05)


def test_paired_difference_ci_constant_shift_has_a_point_interval():
    a = np.linspace(3.0, 9.0, 50)
    mean, low, high = metrics.paired_difference_ci(a + 0.25, a)
    assert mean == pytest.approx(0.25) and low == pytest.approx(0.25)
    assert high == pytest.approx(0.25)


def test_paired_difference_ci_matches_the_normal_interval():
    # differences drawn from N(0.1, 0.5^2): the bootstrap interval of the mean approaches
    # mean +- 1.96 * sd / sqrt(n)
    rng = np.random.default_rng(1)
    b = rng.uniform(5, 10, 2000)
    d = rng.normal(0.1, 0.5, 2000)
    mean, low, high = metrics.paired_difference_ci(b + d, b, resamples=4000)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    assert mean == pytest.approx(d.mean())
    assert low == pytest.approx(d.mean() - half, abs=0.15 * half)
    assert high == pytest.approx(d.mean() + half, abs=0.15 * half)


def test_paired_difference_ci_bad_inputs():
    with pytest.raises(ValueError, match="shape"):
        metrics.paired_difference_ci(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="confidence"):
        metrics.paired_difference_ci(np.zeros(3), np.zeros(3), confidence=95)
