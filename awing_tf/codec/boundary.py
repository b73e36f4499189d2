"""The single boundary heatmap channel (paper Sec. 5): distance to the face's curves."""

from __future__ import annotations

import math

import tensorflow as tf

from awing_tf.codec.gaussian import CUTOFF_SIGMAS


def boundary_heatmap(points: tf.Tensor, visible: tf.Tensor,
                     segments: tuple[tuple[int, int], ...], *, size: int,
                     sigma: float) -> tf.Tensor:
    """Every boundary curve is a polyline through its landmarks; each pixel gets
    ``exp(-d^2 / 2 sigma^2)`` of its exact distance ``d`` to the nearest segment of any curve
    (a max-merge of all curves), 0 beyond ``3 sigma``. Segments touching a landmark with
    ``visible == 0`` are left out.

    Evaluated only in a window around each segment: the value is 0 beyond ``3 sigma``, so each
    segment's exact distance is computed on a ``W x W`` pixel window covering its bounding box
    grown by ``ceil(3 sigma)`` (``W`` the largest such box in the batch, at most ``h``;
    windows are shifted inside the heatmap), and the windows are merged by a max
    (``unsorted_segment_max``) into the map. Exact, and about ``(h / W)^2`` times less work
    than all segments x all pixels.

    Args:
      points: ``(B, K, 2)`` heatmap pixels; visible: ``(B, K)``.
      segments: ``((start, end), ...)`` landmark index pairs (``LandmarkScheme.
        boundary_segments()``).
      size: the heatmap side h; sigma: line sigma in heatmap pixels.

    Returns:
      boundary: ``(B, h, w, 1)`` float32 in [0, 1].
    """
    h = size
    batch = tf.shape(points)[0]
    if not segments:
        return tf.zeros(tf.stack([batch, h, h, 1]))
    xy = points
    a = tf.gather(xy, [s for s, _ in segments], axis=1)  # (B, S, 2)
    b = tf.gather(xy, [e for _, e in segments], axis=1)
    vis = tf.cast(visible, tf.float32)
    ok = (tf.gather(vis, [s for s, _ in segments], axis=1)
          * tf.gather(vis, [e for _, e in segments], axis=1)) > 0  # (B, S)
    reach = float(math.ceil(CUTOFF_SIGMAS * sigma))
    lo = tf.floor(tf.minimum(a, b)) - reach
    hi = tf.math.ceil(tf.maximum(a, b)) + reach
    lo = tf.clip_by_value(lo, -4.0 * h, 4.0 * h)  # keeps int casts safe for wild points
    hi = tf.clip_by_value(hi, -4.0 * h, 4.0 * h)
    window = tf.cast(tf.reduce_max(hi - lo), tf.int32) + 1
    window = tf.clip_by_value(window, 1, h)
    origin = tf.clip_by_value(tf.cast(lo, tf.int32), 0, h - window)  # (B, S, 2)
    steps = tf.range(window)
    px = origin[..., 0:1] + steps  # (B, S, W) pixel x
    py = origin[..., 1:2] + steps  # (B, S, W) pixel y
    ab = b - a
    inv_len2 = 1.0 / tf.maximum(tf.reduce_sum(ab * ab, -1), 1e-12)  # (B, S)
    apx = (tf.cast(px, tf.float32) - a[..., 0:1])[:, :, None, :]  # (B, S, 1, W)
    apy = (tf.cast(py, tf.float32) - a[..., 1:2])[:, :, :, None]  # (B, S, W, 1)
    abx = ab[..., 0, None, None]
    aby = ab[..., 1, None, None]
    t = tf.clip_by_value((apx * abx + apy * aby) * inv_len2[..., None, None], 0.0, 1.0)
    d2 = tf.square(apx - t * abx) + tf.square(apy - t * aby)  # (B, S, W, W)
    val = tf.exp(d2 * (-1.0 / (2.0 * sigma * sigma)))
    keep = (d2 <= (CUTOFF_SIGMAS * sigma) ** 2) & ok[..., None, None]
    val = tf.where(keep, val, 0.0)
    flat = (tf.range(batch)[:, None, None, None] * (h * h)
            + py[:, :, :, None] * h + px[:, :, None, :])  # (B, S, W, W)
    merged = tf.math.unsorted_segment_max(
        tf.reshape(val, [-1]), tf.reshape(flat, [-1]), batch * h * h)
    return tf.reshape(tf.maximum(merged, 0.0), tf.stack([batch, h, h, 1]))
