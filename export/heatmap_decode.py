"""Heatmaps -> landmark positions and peak scores in NumPy: ``awing_tf.codec.decode_heatmaps``
without TensorFlow, for the TFLite runner (argmax, quarter-pixel shift or the DARK-style
sub-pixel fit, ``x = (x_h + 0.5) / s - 0.5``). ``tests/test_runner.py`` keeps the two in
agreement."""

from __future__ import annotations

import numpy as np

from awing_tf.choices import DECODE_METHODS


def _argmax_patch(hm: np.ndarray) -> tuple[np.ndarray, ...]:
    """``hm (B, h, w, K)`` -> ``x, y`` (B, K) int, ``score`` (B, K), patch ``(B, K, 9)``."""
    b, h, w, k = hm.shape
    chw = np.transpose(hm.astype(np.float32), (0, 3, 1, 2))  # (B, K, h, w)
    flat = chw.reshape(b, k, h * w)
    idx = np.argmax(flat, axis=-1)
    score = flat.max(axis=-1)
    y, x = idx // w, idx % w
    padded = np.pad(chw, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="symmetric")
    bi, ki = np.meshgrid(np.arange(b), np.arange(k), indexing="ij")
    patch = np.stack([padded[bi, ki, y + 1 + dy, x + 1 + dx]
                      for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=-1)
    return x, y, score, patch


def _subpixel_offsets(p: np.ndarray, qx: np.ndarray, qy: np.ndarray,
                      interior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DARK-style second-order fit of the log-heatmap patch ``(B, K, 9)``."""
    lg = np.log(np.maximum(p, np.float32(1e-10)))
    gx = 0.5 * (lg[..., 5] - lg[..., 3])
    gy = 0.5 * (lg[..., 7] - lg[..., 1])
    hxx = lg[..., 5] - 2.0 * lg[..., 4] + lg[..., 3]
    hyy = lg[..., 7] - 2.0 * lg[..., 4] + lg[..., 1]
    hxy = 0.25 * (lg[..., 8] - lg[..., 6] - lg[..., 2] + lg[..., 0])
    det = hxx * hyy - hxy * hxy
    safe = np.where(np.abs(det) > 1e-12, det, 1.0)
    tx = -(hyy * gx - hxy * gy) / safe
    ty = -(hxx * gy - hxy * gx) / safe
    positive = p[..., [1, 3, 4, 5, 7]].min(axis=-1) > 1e-6
    ok = positive & (det > 1e-12) & (hxx < 0.0) & interior
    return np.where(ok, np.clip(tx, -0.5, 0.5), qx), np.where(ok, np.clip(ty, -0.5, 0.5), qy)


def decode_heatmaps(heatmaps: np.ndarray, method: str = "quarter_offset",
                    input_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``codec.decode_heatmaps`` in NumPy.

    Args:
      heatmaps: ``(B, h, w, K)`` landmark channels.
      method: ``quarter_offset`` or ``subpixel``.
      input_size: if given, coordinates in input pixels, else heatmap pixels.

    Returns:
      ``(landmarks (B, K, 2) float32 (x, y), scores (B, K) float32)``.
    """
    if method not in DECODE_METHODS:
        raise ValueError(f"decode method must be one of {DECODE_METHODS}, got {method!r}")
    hm = np.asarray(heatmaps, np.float32)
    if hm.ndim != 4:
        raise ValueError(f"heatmaps must be (B, h, w, K), got shape {hm.shape}")
    h, w = hm.shape[1:3]
    x, y, score, p = _argmax_patch(hm)
    interior_x = (x > 0) & (x < w - 1)
    interior_y = (y > 0) & (y < h - 1)
    qx = np.where(interior_x, 0.25 * np.sign(p[..., 5] - p[..., 3]), 0.0)
    qy = np.where(interior_y, 0.25 * np.sign(p[..., 7] - p[..., 1]), 0.0)
    if method == "quarter_offset":
        ox, oy = qx, qy
    else:
        ox, oy = _subpixel_offsets(p, qx, qy, interior_x & interior_y)
    coords = np.stack([x + ox, y + oy], axis=-1).astype(np.float32)
    if input_size is not None:
        s = np.float32(h) / np.float32(input_size)
        coords = (coords + np.float32(0.5)) / s - np.float32(0.5)
    return coords.astype(np.float32), score.astype(np.float32)
