"""Heatmap codec: landmarks <-> Gaussian heatmaps, and the boundary heatmap channel.

Coordinate convention (one place): landmarks are ``(x, y)`` in input pixels with pixel
centres at integer coordinates. With ``s = heatmap_size / input_size``::

    x_h = (x + 0.5) * s - 0.5          (input -> heatmap)
    x   = (x_h + 0.5) / s - 0.5        (heatmap -> input)

Everything here is pure TensorFlow so it runs inside ``tf.data`` and inside a SavedModel.
"""

from __future__ import annotations

import math

import tensorflow as tf

from awing_tf.schemes import LandmarkScheme, get_scheme

DECODE_METHODS = ("quarter_offset", "subpixel")


def to_heatmap_coords(xy: tf.Tensor, input_size: int, heatmap_size: int) -> tf.Tensor:
    """Input-pixel coordinates ``(..., 2)`` -> heatmap-pixel coordinates ``(..., 2)``."""
    s = float(heatmap_size) / float(input_size)
    return (tf.convert_to_tensor(xy, tf.float32) + 0.5) * s - 0.5


def to_input_coords(xy_h: tf.Tensor, input_size: int, heatmap_size: int) -> tf.Tensor:
    """Heatmap-pixel coordinates ``(..., 2)`` -> input-pixel coordinates ``(..., 2)``."""
    s = float(heatmap_size) / float(input_size)
    return (tf.convert_to_tensor(xy_h, tf.float32) + 0.5) / s - 0.5


def _flatten_leading(landmarks: tf.Tensor, visible: tf.Tensor | None
                     ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``(..., K, 2)`` -> ``(N, K, 2)``, visible ``(N, K)`` (ones if None), leading shape."""
    lm = tf.convert_to_tensor(landmarks, tf.float32)
    lead = tf.shape(lm)[:-2]
    k = tf.shape(lm)[-2]
    vis = tf.ones(tf.shape(lm)[:-1]) if visible is None else tf.cast(visible, tf.float32)
    return tf.reshape(lm, [-1, k, 2]), tf.reshape(vis, [-1, k]), lead


def encode_heatmaps(
    landmarks: tf.Tensor,
    heatmap_size: int,
    input_size: int,
    sigma: float = 1.5,
    visible: tf.Tensor | None = None,
) -> tf.Tensor:
    """Gaussian heatmaps centred on sub-pixel landmark positions.

    Args:
      landmarks: ``(..., K, 2)`` float, input pixels.
      heatmap_size: output side length h (= w).
      input_size: the input side the landmarks live in.
      sigma: Gaussian sigma in heatmap pixels; values beyond 3 sigma are set to 0.
      visible: optional ``(..., K)``; channels with 0 are left empty.

    Returns:
      heatmaps: ``(..., h, w, K)`` float32, ``exp(-d^2 / 2 sigma^2)`` of each pixel's distance
      ``d`` to the exact (sub-pixel) landmark.
    """
    lm, vis, lead = _flatten_leading(landmarks, visible)
    hm = _heatmaps_batched(lm, vis, heatmap_size, input_size, sigma)
    return tf.reshape(hm, tf.concat([lead, tf.shape(hm)[1:]], 0))


def encode_boundary(
    landmarks: tf.Tensor,
    scheme: str | LandmarkScheme,
    heatmap_size: int,
    input_size: int,
    sigma: float = 1.0,
    visible: tf.Tensor | None = None,
) -> tf.Tensor:
    """The single boundary channel (paper Sec. 5, DESIGN.md boundary contract).

    Every boundary curve of the scheme is a polyline through its landmarks; each heatmap
    pixel gets ``exp(-d^2 / 2 sigma^2)`` of its exact distance ``d`` to the nearest segment
    of any curve (a max-merge of all curves), cut to 0 beyond ``3 sigma``. Segments touching
    a landmark with ``visible == 0`` are left out.

    Args:
      landmarks: ``(..., K, 2)`` input pixels.
      visible: optional ``(..., K)``.

    Returns:
      boundary: ``(..., h, w, 1)`` float32 in [0, 1].
    """
    lm, vis, lead = _flatten_leading(landmarks, visible)
    b = _boundary_batched(lm, vis, get_scheme(scheme), heatmap_size, input_size, sigma)
    return tf.reshape(b, tf.concat([lead, tf.shape(b)[1:]], 0))


def _heatmaps_batched(
    landmarks: tf.Tensor, visible: tf.Tensor, heatmap_size: int, input_size: int, sigma: float
) -> tf.Tensor:
    """Batched Gaussian heatmaps, computed separably, straight in channels-last layout.

    ``exp(-(dx^2 + dy^2) / 2 sigma^2) = exp(-dx^2 / 2 sigma^2) exp(-dy^2 / 2 sigma^2)``: two
    small ``(B, K, h)`` exponentials and one outer product instead of ``B K h w``
    exponentials and a transpose; the 3-sigma cut ``d^2 <= 9 sigma^2`` is the equivalent
    ``value >= exp(-4.5)``. Same result as the codec to float rounding.

    Args:
      landmarks: ``(B, K, 2)`` input pixels; visible: ``(B, K)``.

    Returns:
      ``(B, h, w, K)`` float32.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    xy = to_heatmap_coords(landmarks, input_size, heatmap_size)  # (B, K, 2)
    grid = tf.range(heatmap_size, dtype=tf.float32)
    inv = -1.0 / (2.0 * sigma * sigma)
    gx = tf.exp(tf.square(grid[None, :, None] - xy[:, None, :, 0]) * inv)  # (B, w, K)
    gy = tf.exp(tf.square(grid[None, :, None] - xy[:, None, :, 1]) * inv)  # (B, h, K)
    gx = gx * tf.cast(visible, tf.float32)[:, None, :]
    hm = gy[:, :, None, :] * gx[:, None, :, :]  # (B, h, w, K)
    return tf.where(hm >= math.exp(-4.5), hm, 0.0)


def _boundary_batched(
    landmarks: tf.Tensor,
    visible: tf.Tensor,
    scheme: str | LandmarkScheme,
    heatmap_size: int,
    input_size: int,
    sigma: float,
) -> tf.Tensor:
    """Batched boundary channel, evaluated only in a window around each segment.

    The value is 0 beyond ``3 sigma`` of every segment, so each segment's exact distance is
    computed on a ``W x W`` pixel window covering its bounding box grown by ``ceil(3 sigma)``
    (``W`` the largest such box in the batch, at most ``h``; windows are shifted inside the
    heatmap), and the windows are merged by a max (``unsorted_segment_max``) into the map.
    Exact, and about ``(h / W)^2`` times less work than all segments x all pixels.

    Args:
      landmarks: ``(B, K, 2)`` input pixels; visible: ``(B, K)``.

    Returns:
      ``(B, h, w, 1)`` float32 in [0, 1].
    """
    segments = get_scheme(scheme).boundary_segments()
    h = heatmap_size
    batch = tf.shape(landmarks)[0]
    if not segments:
        return tf.zeros(tf.stack([batch, h, h, 1]))
    xy = to_heatmap_coords(landmarks, input_size, heatmap_size)
    a = tf.gather(xy, [s for s, _ in segments], axis=1)  # (B, S, 2)
    b = tf.gather(xy, [e for _, e in segments], axis=1)
    vis = tf.cast(visible, tf.float32)
    ok = (tf.gather(vis, [s for s, _ in segments], axis=1)
          * tf.gather(vis, [e for _, e in segments], axis=1)) > 0  # (B, S)
    reach = float(math.ceil(3.0 * sigma))
    lo = tf.floor(tf.minimum(a, b)) - reach
    hi = tf.math.ceil(tf.maximum(a, b)) + reach
    lo = tf.clip_by_value(lo, -4.0 * h, 4.0 * h)  # keeps int casts safe for wild points
    hi = tf.clip_by_value(hi, -4.0 * h, 4.0 * h)
    size = tf.cast(tf.reduce_max(hi - lo), tf.int32) + 1
    size = tf.clip_by_value(size, 1, h)
    origin = tf.clip_by_value(tf.cast(lo, tf.int32), 0, h - size)  # (B, S, 2)
    steps = tf.range(size)
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
    keep = (d2 <= (3.0 * sigma) ** 2) & ok[..., None, None]
    val = tf.where(keep, val, 0.0)
    flat = (tf.range(batch)[:, None, None, None] * (h * h)
            + py[:, :, :, None] * h + px[:, :, None, :])  # (B, S, W, W)
    merged = tf.math.unsorted_segment_max(
        tf.reshape(val, [-1]), tf.reshape(flat, [-1]), batch * h * h)
    return tf.reshape(tf.maximum(merged, 0.0), tf.stack([batch, h, h, 1]))


def encode_target(
    landmarks: tf.Tensor,
    scheme: str | LandmarkScheme,
    heatmap_size: int,
    input_size: int,
    sigma: float = 1.5,
    boundary_sigma: float = 1.0,
    use_boundary: bool = True,
    visible: tf.Tensor | None = None,
) -> tf.Tensor:
    """Landmark heatmaps with the boundary channel last: ``(..., h, w, K [+1])``."""
    hm = encode_heatmaps(landmarks, heatmap_size, input_size, sigma, visible)
    if not use_boundary:
        return hm
    boundary = encode_boundary(landmarks, scheme, heatmap_size, input_size, boundary_sigma, visible)
    return tf.concat([hm, boundary], axis=-1)


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


def decode_heatmaps(
    heatmaps: tf.Tensor,
    method: str = "quarter_offset",
    input_size: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Heatmaps -> landmark coordinates and peak scores.

    Args:
      heatmaps: ``(B, h, w, K)`` (pass only the landmark channels, not the boundary).
      method: ``quarter_offset`` (paper Sec. 7.3 / Newell et al.: the argmax shifted 0.25 px
        toward the higher neighbour in x and y, interior pixels only) or ``subpixel``
        (second-order Taylor expansion of the log-heatmap around the argmax, DARK-style;
        falls back to ``quarter_offset`` where the log-heatmap is not locally concave).
      input_size: if given, coordinates are returned in input pixels, else heatmap pixels.

    Returns:
      ``(landmarks (B, K, 2) float32 (x, y), scores (B, K) float32)``.
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
    coords = tf.stack([xf + ox, yf + oy], axis=-1)
    if input_size is not None:
        coords = to_input_coords(coords, input_size, heatmaps.shape[1] or h)
    return coords, score
