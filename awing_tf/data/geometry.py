"""Crop and geometric augmentation as pure TensorFlow functions (paper Sec. 7.3).

Geometry is expressed as 3x3 affine matrices in homogeneous pixel coordinates with pixel
centres at integer coordinates (docs/ARCHITECTURE.md). Every matrix here maps SOURCE pixels to CROP
(network input) pixels: ``[x', y', 1]^T = M @ [x, y, 1]^T``. The crop, the random rotation,
scale, translation and the horizontal flip are composed into one matrix, applied to the image
in one bilinear warp (``warp_image``) and to the landmarks with ``apply_affine_to_points``.

Out-of-image pixels are filled with a constant 0 (``fill_mode="CONSTANT"``): REFLECT would
mirror facial features (a second eye or mouth) into the corners after large rotations or
translations, parts of a face that have no landmark label; black borders carry no such
confusion and match what the evaluation crop does for boxes near the image edge.
"""

from __future__ import annotations

import math

import tensorflow as tf

FILL_MODE = "CONSTANT"


# === Matrices ===


def _affine(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor,
            f: tf.Tensor) -> tf.Tensor:
    """``[[a, b, c], [d, e, f], [0, 0, 1]]`` from scalars of equal shape ``(...)`` -> ``(..., 3, 3)``."""
    zero = tf.zeros_like(a)
    one = tf.ones_like(a)
    rows = [tf.stack([a, b, c], -1), tf.stack([d, e, f], -1), tf.stack([zero, zero, one], -1)]
    return tf.stack(rows, -2)


def crop_matrix(bbox: tf.Tensor, input_size: int, margin: float = 0.0) -> tf.Tensor:
    """Source pixels -> crop pixels for the square crop of a face box.

    The crop is the square of the box's longer side, centred on the box centre and enlarged by
    ``margin`` (a fraction: 0.1 = 10 % larger side). Box coordinates are continuous pixel
    coordinates; the square's edges map onto the crop frame's edges ``-0.5`` and
    ``input_size - 0.5`` (pixel centres at integers), so a square box fills the crop exactly.

    Args:
      bbox: ``(..., 4)`` float ``x1, y1, x2, y2`` in source pixels.
      input_size: S, the crop side in pixels.
      margin: enlargement fraction, >= 0.

    Returns:
      ``(..., 3, 3)`` float32 matrix, source pixels -> crop pixels.
    """
    if input_size <= 0:
        raise ValueError(f"input_size must be > 0, got {input_size!r}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    box = tf.convert_to_tensor(bbox, tf.float32)
    x1, y1, x2, y2 = tf.unstack(box, 4, axis=-1)
    side = tf.maximum(tf.maximum(x2 - x1, y2 - y1), 1e-3) * (1.0 + margin)
    k = float(input_size) / side
    cx = 0.5 * (x1 + x2)
    cy = 0.5 * (y1 + y2)
    zero = tf.zeros_like(k)
    # x' = (x - (cx - side / 2)) * k - 0.5
    return _affine(k, zero, (0.5 * side - cx) * k - 0.5, zero, k, (0.5 * side - cy) * k - 0.5)


def flip_matrix(size: int, flip: tf.Tensor | bool = True) -> tf.Tensor:
    """Horizontal mirror of an ``size``-wide image, ``x' = size - 1 - x``; identity if not ``flip``.

    Args:
      size: image width in pixels.
      flip: scalar bool (or ``(...)`` bools).

    Returns:
      ``(..., 3, 3)`` float32.
    """
    flip = tf.convert_to_tensor(flip, tf.bool)
    sign = tf.where(flip, -1.0, 1.0)
    shift = tf.where(flip, float(size - 1), 0.0)
    zero = tf.zeros_like(sign)
    return _affine(sign, zero, shift, zero, tf.ones_like(sign), zero)


def similarity_matrix(
    size: int, angle: tf.Tensor, scale: tf.Tensor, translation: tf.Tensor
) -> tf.Tensor:
    """Rotation by ``angle`` and scaling by ``scale`` about the image centre, then a shift.

    ``x' = s R(angle) (x - c) + c + t`` with ``c = ((size-1)/2, (size-1)/2)``; since y points
    down, a positive angle turns the image clockwise on screen.

    Args:
      angle, scale: scalars (or ``(...)``).
      translation: ``(..., 2)`` pixels ``(tx, ty)``.

    Returns:
      ``(..., 3, 3)`` float32, crop pixels -> crop pixels.
    """
    angle = tf.convert_to_tensor(angle, tf.float32)
    scale = tf.convert_to_tensor(scale, tf.float32)
    t = tf.convert_to_tensor(translation, tf.float32)
    c = 0.5 * (size - 1)
    cos = scale * tf.cos(angle)
    sin = scale * tf.sin(angle)
    # x' = R (x - c) + c + t
    tx = c - cos * c + sin * c + t[..., 0]
    ty = c - sin * c - cos * c + t[..., 1]
    return _affine(cos, -sin, tx, sin, cos, ty)


def random_augment_matrix(
    seed: tf.Tensor,
    input_size: int,
    rotation_degrees: float,
    translation_fraction: float,
    scale_range: float,
    flip_probability: float,
) -> tuple[tf.Tensor, tf.Tensor]:
    """A random crop-space augmentation: flip, then rotation/scale about the centre, then shift.

    Rotation is uniform in ``+-rotation_degrees``, scale uniform in ``1 +- scale_range``,
    translation uniform in ``+-translation_fraction * input_size`` on each axis, and a
    horizontal flip with ``flip_probability``.

    Args:
      seed: ``(2,)`` int stateless seed.

    Returns:
      ``(matrix (3, 3) float32 crop pixels -> crop pixels, flipped scalar bool)``.
    """
    u = tf.random.stateless_uniform([5], seed, minval=-1.0, maxval=1.0)
    angle = u[0] * (rotation_degrees * math.pi / 180.0)
    scale = 1.0 + u[1] * scale_range
    shift = u[2:4] * (translation_fraction * input_size)
    flipped = 0.5 * (u[4] + 1.0) < flip_probability
    m = similarity_matrix(input_size, angle, scale, shift) @ flip_matrix(input_size, flipped)
    return m, flipped


def invert_affine(matrix: tf.Tensor) -> tf.Tensor:
    """Inverse of affine matrices ``(..., 3, 3)`` (last row ``0 0 1``), closed form."""
    m = tf.convert_to_tensor(matrix, tf.float32)
    a, b, c = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    d, e, f = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return _affine(ia, ib, -(ia * c + ib * f), id_, ie, -(id_ * c + ie * f))


# === Points ===


def apply_affine_to_points(matrix: tf.Tensor, points: tf.Tensor) -> tf.Tensor:
    """Maps points with an affine matrix.

    Args:
      matrix: ``(..., 3, 3)`` (source -> destination pixels).
      points: ``(..., K, 2)`` ``(x, y)`` source pixels.

    Returns:
      ``(..., K, 2)`` float32 destination pixels.
    """
    m = tf.convert_to_tensor(matrix, tf.float32)
    p = tf.convert_to_tensor(points, tf.float32)
    linear = m[..., :2, :2]  # (..., 2, 2)
    shift = m[..., None, :2, 2]  # (..., 1, 2)
    return tf.linalg.matvec(linear[..., None, :, :], p) + shift


def flip_landmarks(
    points: tf.Tensor, visible: tf.Tensor, permutation: tuple[int, ...] | list[int],
    flipped: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Re-labels mirrored landmarks: new ``i`` is old ``permutation[i]`` when ``flipped``.

    Apply after the points were mirrored (the matrix does the geometry, this the labels).

    Args:
      points: ``(K, 2)``; visible: ``(K,)``; flipped: scalar bool.

    Returns:
      ``(points (K, 2), visible (K,))``.
    """
    perm = tf.constant(permutation, tf.int32)
    new_points = tf.where(flipped, tf.gather(points, perm, axis=-2), points)
    new_visible = tf.where(flipped, tf.gather(visible, perm, axis=-1), visible)
    return new_points, new_visible


# === Image warp ===


def warp_image(
    image: tf.Tensor, matrix: tf.Tensor, output_size: int, fill_value: float = 0.0
) -> tf.Tensor:
    """Bilinear warp of an image (or batch) by ``matrix`` (source -> output pixels).

    Output pixel ``(x, y)`` (pixel centres at integers) is sampled at source
    ``M^-1 (x, y)``, which is the convention of ``ImageProjectiveTransformV3`` (its
    ``transforms`` are the inverse map output -> input, 8 parameters).

    Args:
      image: ``(H, W, C)`` or ``(B, H, W, C)``, uint8 or float.
      matrix: ``(3, 3)`` or ``(B, 3, 3)`` affine, source pixels -> output pixels.
      output_size: S, the output side.

    Returns:
      ``(S, S, C)`` or ``(B, S, S, C)`` in the dtype of ``image``.
    """
    image = tf.convert_to_tensor(image)
    single = image.shape.rank == 3
    if image.shape.rank not in (3, 4):
        raise ValueError(f"image must be (H, W, C) or (B, H, W, C), got shape {image.shape}")
    images = image[None] if single else image
    inv = tf.reshape(invert_affine(matrix), [-1, 9])[:, :8]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=inv,
        output_shape=tf.constant([output_size, output_size], tf.int32),
        fill_value=tf.constant(fill_value, tf.float32),
        interpolation="BILINEAR",
        fill_mode=FILL_MODE,
    )
    return out[0] if single else out


def source_region(
    image: tf.Tensor, matrix: tf.Tensor, output_size: int
) -> tuple[tf.Tensor, tf.Tensor]:
    """The part of a source image that a warp to ``output_size`` can read, and its matrix.

    The output frame's corners are mapped back to the source; their bounding box (plus one
    pixel for the bilinear neighbours, clipped to the image) is sliced out, and the matrix is
    shifted to the slice's pixels. Warping the slice gives the same output as warping the
    whole image, but later per-pixel work (dtype conversion) no longer scales with the
    source size.

    Args:
      image: ``(H, W, C)``; matrix: ``(3, 3)`` source pixels -> output pixels.

    Returns:
      ``(region (h', w', C), matrix (3, 3) region pixels -> output pixels)``.
    """
    inv = invert_affine(matrix)
    e = float(output_size) - 0.5
    corners = apply_affine_to_points(inv, tf.constant([[-0.5, -0.5], [e, -0.5], [-0.5, e],
                                                        [e, e]], tf.float32))
    size = tf.shape(image)[:2][::-1]  # (W, H)
    lo = tf.cast(tf.floor(tf.reduce_min(corners, 0)), tf.int32) - 1
    hi = tf.cast(tf.math.ceil(tf.reduce_max(corners, 0)), tf.int32) + 2
    lo = tf.clip_by_value(lo, 0, size - 1)
    hi = tf.clip_by_value(hi, lo + 1, size)
    region = image[lo[1]:hi[1], lo[0]:hi[0]]
    shift = tf.cast(lo, tf.float32)
    zero = tf.constant(0.0)
    one = tf.constant(1.0)
    return region, matrix @ _affine(one, zero, shift[0], zero, one, shift[1])
