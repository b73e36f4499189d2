"""Photometric augmentation: reproducible, in range, probabilities honoured, blur smooths."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from awing_tf.data import photometric as A


def _batch(seed: int = 0) -> tf.Tensor:
    rng = np.random.default_rng(seed)
    return tf.constant(rng.uniform(0.1, 0.9, (8, 32, 32, 3)).astype(np.float32))


def test_photometric_is_reproducible_and_in_range():
    images = _batch()
    seed = tf.constant([1, 2], tf.int64)
    a = A.photometric_augment(images, seed, 0.5, 0.5, 0.2, 0.5)
    b = A.photometric_augment(images, seed, 0.5, 0.5, 0.2, 0.5)
    c = A.photometric_augment(images, seed + 1, 0.5, 0.5, 0.2, 0.5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert float(tf.reduce_min(a)) >= 0.0 and float(tf.reduce_max(a)) <= 1.0
    assert a.shape == images.shape and a.dtype == tf.float32


def test_photometric_probabilities_zero_and_one():
    images = _batch()
    seed = tf.constant([5, 6], tf.int64)
    np.testing.assert_array_equal(A.photometric_augment(images, seed, 0, 0, 0.1, 0), images)
    for fn in (lambda x: A.random_blur(x, seed, 1.0),
               lambda x: A.random_noise(x, seed, 1.0, 0.05),
               lambda x: A.random_occlusion(x, seed, 1.0)):
        out = fn(images).numpy()
        changed = np.abs(out - images.numpy()).reshape(8, -1).max(-1) > 1e-4
        assert changed.all()


def test_blur_keeps_constant_images_and_smooths_noise():
    flat = tf.fill([2, 16, 16, 3], 0.3)
    np.testing.assert_allclose(A.gaussian_blur(flat, tf.constant([0.7, 2.0])), flat, atol=1e-6)
    noisy = _batch(3)
    blurred = A.gaussian_blur(noisy, tf.fill([8], 1.5))
    assert float(tf.math.reduce_std(blurred)) < 0.5 * float(tf.math.reduce_std(noisy))
