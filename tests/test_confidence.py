"""Per-landmark confidence: the heatmap peak read against the training Gaussian's peak."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from awing_tf.codec import HeatmapCodec
from awing_tf.config import HeatmapSpec
from awing_tf.drawing import confidence_colors
from awing_tf.inference.confidence import landmark_confidence


def test_a_training_target_decodes_to_full_confidence_and_scaled_peaks_scale_it():
    codec = HeatmapCodec(HeatmapSpec("300w68", 128, 32, use_boundary=False))
    rng = np.random.default_rng(0)
    # landmarks at heatmap pixel centres: the target's peak is exactly the Gaussian's 1
    pts_hm = rng.integers(3, 29, (2, 68, 2)).astype(np.float32)
    pts = codec.to_input_coords(pts_hm)
    target = codec.encode_landmarks(tf.constant(pts, tf.float32), tf.ones((2, 68)))
    for factor in (1.0, 0.6, 0.25):
        _, scores = codec.decode(target * factor)
        np.testing.assert_allclose(landmark_confidence(scores.numpy()), factor, atol=1e-6)


def test_confidence_clips_to_the_unit_interval():
    got = landmark_confidence(np.array([[-0.3, 0.0, 0.42, 1.0, 1.7]]))
    np.testing.assert_allclose(got, [[0.0, 0.0, 0.42, 1.0, 1.0]], atol=1e-7)
    assert got.dtype == np.float32


def test_confidence_colours_run_red_yellow_green():
    colors = confidence_colors(np.array([0.0, 0.5, 1.0, 0.25, np.nan]))
    np.testing.assert_array_equal(colors[:3], [[255, 0, 0], [255, 255, 0], [0, 255, 0]])
    np.testing.assert_array_equal(colors[3], [255, 128, 0])
    np.testing.assert_array_equal(colors[4], [255, 0, 0])  # unknown confidence: red
