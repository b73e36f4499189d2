"""Per-landmark confidence: the heatmap peak calibrated to [0, 1] (NumPy; no TensorFlow).

A training target is a Gaussian whose value at the landmark is 1 (``awing_tf.codec``), so a
predicted peak is read against that: ``confidence = clip(peak / TARGET_PEAK, 0, 1)``. A point
the model is sure of reproduces the target's height (confidence near 1); an occluded,
blurred or ambiguous point gives a lower, wider peak. The SavedModel signatures compute the
same in the graph (``export.saved_model.serving``) and the TFLite runner in NumPy, so every
output carries the same number. How well it predicts error is measured in
``bench/detect.py`` (``bench/results/detect.json``, "confidence").
"""

from __future__ import annotations

import numpy as np

TARGET_PEAK = 1.0  # the training Gaussian's value at its centre


def landmark_confidence(scores: np.ndarray) -> np.ndarray:
    """``scores (..., K)`` raw heatmap peaks -> confidences ``(..., K)`` float32 in [0, 1]."""
    return np.clip(np.asarray(scores, np.float32) / np.float32(TARGET_PEAK), 0.0, 1.0)
