"""Photometric augmentation of image batches as pure TensorFlow functions (paper Sec. 7.3).

Each example draws its augmentation in the ``tf.data`` map (:func:`draw_photometric`). The
occluder is pasted there, per image (:func:`maybe_occlude`); blur and noise, which cost
most per image, run per batch on the drawn settings (:func:`blur_and_noise`) inside the
training step, on the device that trains. Images are float32 in [0, 1]; randomness takes a
stateless seed (shape ``(2,)`` int32/int64), so results are reproducible.
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
    image: tf.Tensor, seed: tf.Tensor,
    size_range: tuple[float, float] = OCCLUSION_SIZE_RANGE,
) -> tf.Tensor:
    """Pastes one random rectangle into the image.

    The rectangle's sides are uniform in ``size_range`` times the image's shorter side, its
    centre uniform over the image (pixels ``x`` with ``lo <= x < hi``, clipped to the image);
    it is filled with a uniform random grey level or, for half of the occluders, with uniform
    noise in [0, 1]. Only the rectangle's pixels are drawn; it is padded to the image size
    and pasted with one select.

    image: ``(H, W, C)`` float32; seed: ``(2,)``. Returns ``(H, W, C)``.
    """
    s1, s2 = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    shape = tf.shape(image)
    h, w, c = shape[0], shape[1], image.shape[-1]
    hw = tf.cast(tf.stack([w, h]), tf.float32)
    u = tf.random.stateless_uniform([6], s1)
    size = (size_range[0] + u[0:2] * (size_range[1] - size_range[0])) * tf.reduce_min(hw)
    centre = u[2:4] * hw
    lo = tf.cast(tf.clip_by_value(tf.math.ceil(centre - 0.5 * size), 0.0, hw), tf.int32)
    hi = tf.cast(tf.clip_by_value(tf.math.ceil(centre + 0.5 * size), 0.0, hw), tf.int32)
    extent = hi - lo  # (2,) as (x, y)
    patch_shape = tf.stack([extent[1], extent[0], c])
    fill = tf.cond(u[5] < 0.5,
                   lambda: tf.random.stateless_uniform(patch_shape, s2),
                   lambda: tf.fill(patch_shape, u[4]))
    pads = tf.stack([[lo[1], h - hi[1]], [lo[0], w - hi[0]], [0, 0]])
    inside = tf.pad(tf.ones(patch_shape[:2], tf.bool), pads[:2], constant_values=False)
    return tf.where(inside[..., None], tf.pad(fill, pads), image)


def draw_photometric(
    seed: tf.Tensor,
    blur_probability: float,
    noise_probability: float,
    noise_stddev: float,
    occlusion_probability: float,
    blur_sigma_range: tuple[float, float] = BLUR_SIGMA_RANGE,
) -> dict[str, tf.Tensor]:
    """The photometric augmentation one example draws, each independently with its
    probability: ``blur_sigma`` (scalar float32 input pixels, uniform in
    ``blur_sigma_range``; 0 = no blur), ``noise_stddev`` (scalar float32, ``noise_stddev``
    or 0) and ``occlude`` (scalar bool). seed: ``(2,)``."""
    u = tf.random.stateless_uniform([4], seed)
    sigma = blur_sigma_range[0] + u[3] * (blur_sigma_range[1] - blur_sigma_range[0])
    return {
        "blur_sigma": tf.where(u[0] < blur_probability, sigma, 0.0),
        "noise_stddev": tf.where(u[1] < noise_probability, float(noise_stddev), 0.0),
        "occlude": u[2] < occlusion_probability,
    }


def maybe_occlude(image: tf.Tensor, occlude_it: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """``image (S, S, C)`` with one occluder (:func:`occlude`) when ``occlude_it``; nothing is
    computed otherwise (``tf.cond``)."""
    return tf.cond(occlude_it, lambda: occlude(image, seed), lambda: image)


def blur_and_noise(
    images: tf.Tensor, blur_sigma: tf.Tensor, noise_stddev: tf.Tensor, seed: tf.Tensor
) -> tf.Tensor:
    """Blur, then noise, of a batch with one setting per image, as drawn by
    :func:`draw_photometric`: image i is blurred with ``blur_sigma[i]`` when it is > 0 and
    gets ``N(0, noise_stddev[i]^2)`` noise (then clipped to [0, 1]) when that is > 0. Only
    the images that drew a blur (or noise) are gathered, changed and scattered back, so a
    batch costs in proportion to its augmented images, and one that draws neither costs
    nothing. Runs in the training step (or per batch in
    ``tf.data``).

    images: ``(B, S, S, C)`` float32 in [0, 1]; blur_sigma, noise_stddev: ``(B,)`` float32;
    seed: ``(2,)``. Returns ``(B, S, S, C)``.
    """
    blur_sigma = tf.cast(blur_sigma, tf.float32)
    noise_stddev = tf.cast(noise_stddev, tf.float32)

    def blur(x: tf.Tensor) -> tf.Tensor:
        picked = tf.where(blur_sigma > 0)  # (m, 1): only the images that drew a blur
        blurred = gaussian_blur(tf.gather_nd(x, picked), tf.gather_nd(blur_sigma, picked))
        return tf.tensor_scatter_nd_update(x, picked, blurred)

    def noise(x: tf.Tensor) -> tf.Tensor:
        picked = tf.where(noise_stddev > 0)  # (m, 1): only the images that drew noise
        chosen = tf.gather_nd(x, picked)
        stddev = tf.gather_nd(noise_stddev, picked)[:, None, None, None]
        noisy = chosen + tf.random.stateless_normal(tf.shape(chosen), seed) * stddev
        return tf.tensor_scatter_nd_update(x, picked, tf.clip_by_value(noisy, 0.0, 1.0))

    out = tf.cond(tf.reduce_any(blur_sigma > 0), lambda: blur(images), lambda: images)
    return tf.cond(tf.reduce_any(noise_stddev > 0), lambda: noise(out), lambda: out)
