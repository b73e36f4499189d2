"""Gaussian landmark heatmaps centred on sub-pixel positions."""

from __future__ import annotations

import math

import tensorflow as tf

CUTOFF_SIGMAS = 3.0  # values beyond 3 sigma of the landmark are 0


def gaussian_heatmaps(points: tf.Tensor, visible: tf.Tensor, *, size: int,
                      sigma: float) -> tf.Tensor:
    """``exp(-d^2 / 2 sigma^2)`` of each pixel's distance ``d`` to its landmark, 0 beyond
    3 sigma, computed separably straight in channels-last layout.

    ``exp(-(dx^2 + dy^2) / 2 sigma^2) = exp(-dx^2 / 2 sigma^2) exp(-dy^2 / 2 sigma^2)``: two
    small ``(B, K, h)`` exponentials and one outer product instead of ``B K h w``
    exponentials and a transpose; the 3-sigma cut ``d^2 <= 9 sigma^2`` is the equivalent
    ``value >= exp(-4.5)``.

    Args:
      points: ``(B, K, 2)`` heatmap pixels; visible: ``(B, K)`` (0 leaves a channel empty).
      size: the heatmap side h (= w); sigma: in heatmap pixels, > 0.

    Returns:
      heatmaps: ``(B, h, w, K)`` float32.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    grid = tf.range(size, dtype=tf.float32)
    inv = -1.0 / (2.0 * sigma * sigma)
    gx = tf.exp(tf.square(grid[None, :, None] - points[:, None, :, 0]) * inv)  # (B, w, K)
    gy = tf.exp(tf.square(grid[None, :, None] - points[:, None, :, 1]) * inv)  # (B, h, K)
    gx = gx * tf.cast(visible, tf.float32)[:, None, :]
    hm = gy[:, :, None, :] * gx[:, None, :, :]  # (B, h, w, K)
    return tf.where(hm >= math.exp(-0.5 * CUTOFF_SIGMAS**2), hm, 0.0)
