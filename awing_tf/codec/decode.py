"""Heatmaps -> landmark positions in heatmap pixels, and peak scores.

``export/runner.py`` mirrors this in NumPy (it runs without TensorFlow); a test keeps the two
in agreement.
"""

from __future__ import annotations

import tensorflow as tf

from awing_tf.choices import DECODE_METHODS


def _argmax_patch(heatmaps: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Argmax of each channel and the 3x3 patch around it.

    heatmaps: ``(B, h, w, K)``. Returns ``x, y`` (B, K) int32, ``score`` (B, K) and the
    patch ``(B, K, 9)`` in row-major order (dy, dx) over {-1, 0, 1}, edges replicated.
    """
    shape = tf.shape(heatmaps)
    b, h, w, k = shape[0], shape[1], shape[2], shape[3]
    hm = tf.transpose(tf.cast(heatmaps, tf.float32), [0, 3, 1, 2])  # (B, K, h, w)
    flat = tf.reshape(hm, [b, k, h * w])
    idx = tf.argmax(flat, axis=-1, output_type=tf.int32)
    score = tf.reduce_max(flat, axis=-1)
    y = idx // w
    x = idx - y * w
    padded = tf.pad(hm, [[0, 0], [0, 0], [1, 1], [1, 1]], mode="SYMMETRIC")
    pflat = tf.reshape(padded, [b, k, (h + 2) * (w + 2)])
    offs = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    lin = tf.stack([(y + 1 + dy) * (w + 2) + (x + 1 + dx) for dy, dx in offs], axis=-1)
    patch = tf.gather(pflat, lin, batch_dims=2)
    return x, y, score, patch


def decode_heatmaps(heatmaps: tf.Tensor, method: str = "quarter_offset"
                    ) -> tuple[tf.Tensor, tf.Tensor]:
    """Peak position of every channel, in heatmap pixels.

    Args:
      heatmaps: ``(B, h, w, K)``: landmark channels only.
      method: ``quarter_offset`` (paper Sec. 7.3 / Newell et al.: the argmax shifted 0.25 px
        toward the higher neighbour in x and y, interior pixels only) or ``subpixel``
        (second-order Taylor expansion of the log-heatmap around the argmax, DARK-style;
        falls back to ``quarter_offset`` where the log-heatmap is not locally concave).

    Returns:
      ``(points (B, K, 2) float32 (x, y) heatmap pixels, scores (B, K) float32 peak values)``.
    """
    if method not in DECODE_METHODS:
        raise ValueError(f"decode method must be one of {DECODE_METHODS}, got {method!r}")
    x, y, score, p = _argmax_patch(heatmaps)
    h = tf.shape(heatmaps)[1]
    w = tf.shape(heatmaps)[2]
    xf = tf.cast(x, tf.float32)
    yf = tf.cast(y, tf.float32)
    interior_x = tf.logical_and(x > 0, x < w - 1)
    interior_y = tf.logical_and(y > 0, y < h - 1)
    qx = tf.where(interior_x, 0.25 * tf.sign(p[..., 5] - p[..., 3]), 0.0)
    qy = tf.where(interior_y, 0.25 * tf.sign(p[..., 7] - p[..., 1]), 0.0)
    if method == "quarter_offset":
        ox, oy = qx, qy
    else:
        lg = tf.math.log(tf.maximum(p, 1e-10))
        gx = 0.5 * (lg[..., 5] - lg[..., 3])
        gy = 0.5 * (lg[..., 7] - lg[..., 1])
        hxx = lg[..., 5] - 2.0 * lg[..., 4] + lg[..., 3]
        hyy = lg[..., 7] - 2.0 * lg[..., 4] + lg[..., 1]
        hxy = 0.25 * (lg[..., 8] - lg[..., 6] - lg[..., 2] + lg[..., 0])
        det = hxx * hyy - hxy * hxy
        safe_det = tf.where(tf.abs(det) > 1e-12, det, tf.ones_like(det))
        tx = -(hyy * gx - hxy * gy) / safe_det
        ty = -(hxx * gy - hxy * gx) / safe_det
        positive = tf.reduce_min(tf.gather(p, [1, 3, 4, 5, 7], axis=-1), axis=-1) > 1e-6
        ok = positive & (det > 1e-12) & (hxx < 0.0) & interior_x & interior_y
        ox = tf.where(ok, tf.clip_by_value(tx, -0.5, 0.5), qx)
        oy = tf.where(ok, tf.clip_by_value(ty, -0.5, 0.5), qy)
    return tf.stack([xf + ox, yf + oy], axis=-1), score
