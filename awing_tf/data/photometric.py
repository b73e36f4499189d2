"""Photometric augmentation of image batches as pure TensorFlow functions (paper Sec. 7.3).

:func:`photometric_augment` changes one image ``(S, S, 3)`` float32 in [0, 1] in the
``tf.data`` map, where an augmentation that is not drawn costs nothing; the operations it
draws from act on ``(n, S, S, C)`` batches. Randomness takes a stateless seed (shape
``(2,)`` int32/int64), so results are reproducible.
"""

from __future__ import annotations

import tensorflow as tf

BLUR_SIGMA_RANGE = (0.5, 2.0)  # Gaussian blur sigma in input pixels
BLUR_RADIUS = 6  # kernel taps each side: 3 x max sigma
OCCLUSION_SIZE_RANGE = (0.1, 0.4)  # occluder side as a fraction of the input size


def gaussian_blur(images: tf.Tensor, sigma: tf.Tensor, radius: int = BLUR_RADIUS) -> tf.Tensor:
    """Separable Gaussian blur with one sigma per image, as one depthwise convolution.

    Args:
      images: ``(n, H, W, C)`` float32.
      sigma: ``(n,)`` float32 pixels.

    Returns:
      ``(n, H, W, C)`` float32 (edges mirrored).
    """
    n = tf.shape(images)[0]
    h, w, c = tf.shape(images)[1], tf.shape(images)[2], images.shape[-1]
    taps = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-tf.square(taps)[None, :] / (2.0 * tf.square(sigma)[:, None]))  # (n, T)
    kernel = kernel / tf.reduce_sum(kernel, -1, keepdims=True)
    kernel = tf.repeat(kernel, c, axis=0)  # (n*C, T), channel order n-major
    x = tf.reshape(tf.transpose(images, [1, 2, 0, 3]), [1, h, w, n * c])
    pad = [[0, 0], [radius, radius], [radius, radius], [0, 0]]
    x = tf.pad(x, pad, mode="SYMMETRIC")  # REFLECT rejects the empty (n = 0) case
    kt = tf.transpose(kernel)  # (T, n*C)
    x = tf.nn.depthwise_conv2d(x, kt[:, None, :, None], [1, 1, 1, 1], "VALID")
    x = tf.nn.depthwise_conv2d(x, kt[None, :, :, None], [1, 1, 1, 1], "VALID")
    return tf.transpose(tf.reshape(x, [h, w, n, c]), [2, 0, 1, 3])


def occlude(
    images: tf.Tensor, seed: tf.Tensor,
    size_range: tuple[float, float] = OCCLUSION_SIZE_RANGE,
) -> tf.Tensor:
    """Pastes one random rectangle into every image.

    The rectangle's sides are uniform in ``size_range`` times the image side, its centre
    uniform over the image; it is filled with a uniform random grey level or, for half of
    the occluders, with uniform noise in [0, 1].

    images: ``(n, H, W, C)`` float32; seed: ``(2,)``. Returns ``(n, H, W, C)``.
    """
    s1, s2 = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    shape = tf.shape(images)
    n, h, w = shape[0], shape[1], shape[2]
    hw = tf.cast(tf.stack([w, h]), tf.float32)
    u = tf.random.stateless_uniform([n, 6], s1)
    size = (size_range[0] + u[:, 0:2] * (size_range[1] - size_range[0])) * tf.reduce_min(hw)
    centre = u[:, 2:4] * hw
    lo, hi = centre - 0.5 * size, centre + 0.5 * size  # (n, 2) as (x, y)
    xs = tf.range(tf.cast(w, tf.float32))
    ys = tf.range(tf.cast(h, tf.float32))
    in_x = (xs[None, :] >= lo[:, 0:1]) & (xs[None, :] < hi[:, 0:1])  # (n, W)
    in_y = (ys[None, :] >= lo[:, 1:2]) & (ys[None, :] < hi[:, 1:2])  # (n, H)
    mask = in_y[:, :, None, None] & in_x[:, None, :, None]  # (n, H, W, 1)
    grey = u[:, 4][:, None, None, None]
    use_noise = (u[:, 5] < 0.5)[:, None, None, None]
    noise = _noise_patch(s2, n, h, w, images.shape[-1], tf.cast(lo, tf.int32), size_range[1])
    fill = tf.where(use_noise, noise, grey)
    return tf.where(mask, fill, images)


def _noise_patch(
    seed: tf.Tensor, n: tf.Tensor, h: tf.Tensor, w: tf.Tensor, c: int, origin: tf.Tensor,
    max_fraction: float,
) -> tf.Tensor:
    """Uniform [0, 1] noise for occluders, ``(n, h, w, c)``, random only where it is used.

    Draws a ``T x T`` tile per image (T the largest occluder side) and places it with its
    corner at ``origin`` (``(n, 2)`` int32 ``x, y``) by index gathers: far fewer random
    numbers than a full-size noise image, and the same values inside the rectangle.
    """
    side = tf.cast(tf.math.ceil(max_fraction * tf.cast(tf.minimum(h, w), tf.float32)), tf.int32)
    tile = tf.random.stateless_uniform(tf.stack([n, side + 1, side + 1, c]), seed)
    iy = tf.clip_by_value(tf.range(h)[None, :] - origin[:, 1:2], 0, side)  # (n, h)
    ix = tf.clip_by_value(tf.range(w)[None, :] - origin[:, 0:1], 0, side)  # (n, w)
    rows = tf.gather(tile, iy, axis=1, batch_dims=1)  # (n, h, T, c)
    return tf.gather(rows, ix, axis=2, batch_dims=1)  # (n, h, w, c)


def photometric_augment(
    image: tf.Tensor,
    seed: tf.Tensor,
    blur_probability: float,
    noise_probability: float,
    noise_stddev: float,
    occlusion_probability: float,
    blur_sigma_range: tuple[float, float] = BLUR_SIGMA_RANGE,
) -> tf.Tensor:
    """Blur, noise, occlusion of one image, each drawn independently with its probability;
    the result stays in [0, 1].

    Per image, inside the ``tf.data`` map: an augmentation that is not drawn costs nothing
    (``tf.cond``), and no batch is copied to change a fifth of its images. Blur sigma is
    uniform in ``blur_sigma_range`` (input pixels); noise is ``N(0, noise_stddev^2)`` per
    pixel and channel, and only noised images are clipped (blur and occluders are convex
    combinations of values in [0, 1]); occluders as :func:`occlude`.

    image: ``(S, S, 3)`` float32 in [0, 1]; seed: ``(2,)``. Returns the same shape.
    """
    draw_seed, noise_seed, occlusion_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 3))
    u = tf.random.stateless_uniform([4], draw_seed)
    if blur_probability > 0:
        sigma = blur_sigma_range[0] + u[3] * (blur_sigma_range[1] - blur_sigma_range[0])
        image = tf.cond(u[0] < blur_probability,
                        lambda: gaussian_blur(image[None], sigma[None])[0],
                        lambda: image)
    if noise_probability > 0 and noise_stddev > 0:
        def add_noise() -> tf.Tensor:
            noise = tf.random.stateless_normal(tf.shape(image), noise_seed, stddev=noise_stddev)
            return tf.clip_by_value(image + noise, 0.0, 1.0)

        image = tf.cond(u[1] < noise_probability, add_noise, lambda: image)
    if occlusion_probability > 0:
        image = tf.cond(u[2] < occlusion_probability,
                        lambda: occlude(image[None], occlusion_seed)[0],
                        lambda: image)
    return image
