"""Heatmap codec: landmarks <-> Gaussian heatmaps, and the boundary heatmap channel.

Coordinate convention (one place): landmarks are ``(x, y)`` in input pixels with pixel
centres at integer coordinates. With ``s = heatmap_size / input_size``::

    x_h = (x + 0.5) * s - 0.5          (input -> heatmap)
    x   = (x_h + 0.5) / s - 0.5        (heatmap -> input)

Everything here is pure TensorFlow so it runs inside ``tf.data`` and inside a SavedModel.
"""

from __future__ import annotations

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
      heatmaps: ``(..., h, w, K)`` float32, peak 1 at the exact (sub-pixel) landmark.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    xy = to_heatmap_coords(landmarks, input_size, heatmap_size)
    grid = tf.range(heatmap_size, dtype=tf.float32)
    dx2 = tf.square(grid - xy[..., 0:1])  # (..., K, w)
    dy2 = tf.square(grid - xy[..., 1:2])  # (..., K, h)
    d2 = dy2[..., :, None] + dx2[..., None, :]  # (..., K, h, w)
    hm = tf.exp(-d2 / (2.0 * sigma * sigma))
    hm = tf.where(d2 <= (3.0 * sigma) ** 2, hm, tf.zeros_like(hm))
    if visible is not None:
        hm = hm * tf.cast(visible, tf.float32)[..., None, None]
    return _channels_last(hm)


def _channels_last(x: tf.Tensor) -> tf.Tensor:
    """``(..., C, h, w)`` -> ``(..., h, w, C)``."""
    rank = len(x.shape)
    perm = list(range(rank - 3)) + [rank - 2, rank - 1, rank - 3]
    return tf.transpose(x, perm)


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
    scheme = get_scheme(scheme)
    segments = scheme.boundary_segments()
    xy = to_heatmap_coords(landmarks, input_size, heatmap_size)
    if not segments:
        return tf.zeros(tf.concat([tf.shape(xy)[:-2], [heatmap_size, heatmap_size, 1]], 0))
    starts = tf.constant([s for s, _ in segments], tf.int32)
    ends = tf.constant([e for _, e in segments], tf.int32)
    a = tf.gather(xy, starts, axis=-2)[..., :, None, :]  # (..., S, 1, 2)
    b = tf.gather(xy, ends, axis=-2)[..., :, None, :]
    grid = tf.range(heatmap_size, dtype=tf.float32)
    gy, gx = tf.meshgrid(grid, grid, indexing="ij")
    p = tf.reshape(tf.stack([gx, gy], -1), [-1, 2])  # (P, 2) as (x, y)
    ab = b - a
    ap = p - a  # (..., S, P, 2)
    denom = tf.maximum(tf.reduce_sum(ab * ab, -1), 1e-12)
    t = tf.clip_by_value(tf.reduce_sum(ap * ab, -1) / denom, 0.0, 1.0)  # (..., S, P)
    d2 = tf.reduce_sum(tf.square(ap - t[..., None] * ab), -1)  # (..., S, P)
    if visible is not None:
        vis = tf.cast(visible, tf.float32)
        seg_ok = tf.gather(vis, starts, axis=-1) * tf.gather(vis, ends, axis=-1)  # (..., S)
        d2 = tf.where(seg_ok[..., None] > 0, d2, tf.fill(tf.shape(d2), 1e9))
    d2min = tf.reduce_min(d2, axis=-2)  # (..., P)
    val = tf.exp(-d2min / (2.0 * sigma * sigma))
    val = tf.where(d2min <= (3.0 * sigma) ** 2, val, tf.zeros_like(val))
    out_shape = tf.concat([tf.shape(val)[:-1], [heatmap_size, heatmap_size, 1]], 0)
    return tf.reshape(val, out_shape)


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
