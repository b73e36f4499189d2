"""Photometric augmentation: draws reproducible and in range, probabilities honoured, blur
smooths, one occluder of the configured size, and what the pipeline and the training step do
together follows the configured probabilities and noise level."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from awing_tf.data import photometric as A


def _image(seed: int = 0, size: int = 32) -> tf.Tensor:
    rng = np.random.default_rng(seed)
    return tf.constant(rng.uniform(0.1, 0.9, (size, size, 3)).astype(np.float32))


def _augment(image: tf.Tensor, seed: tf.Tensor, p_blur: float, p_noise: float, stddev: float,
             p_occ: float) -> tf.Tensor:
    """What an example goes through: the draw and the occluder in the pipeline, blur and
    noise in the training step (as ``make_dataset`` and ``FaceAligner.step_batch`` do)."""
    draw_seed, occlusion_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    drawn = A.draw_photometric(draw_seed, p_blur, p_noise, stddev, p_occ)
    image = A.maybe_occlude(image, drawn["occlude"], occlusion_seed)
    return A.blur_and_noise(image[None], drawn["blur_sigma"][None],
                            drawn["noise_stddev"][None], seed)[0]


def test_augmentation_is_reproducible_and_in_range():
    image = _image()
    seed = tf.constant([1, 2], tf.int64)
    a = _augment(image, seed, 0.5, 0.5, 0.2, 0.5)
    np.testing.assert_array_equal(a, _augment(image, seed, 0.5, 0.5, 0.2, 0.5))
    outs = [_augment(image, seed + k, 0.5, 0.5, 0.2, 0.5) for k in range(8)]
    assert any(not np.array_equal(a, o) for o in outs)
    for o in outs:
        assert float(tf.reduce_min(o)) >= 0.0 and float(tf.reduce_max(o)) <= 1.0
        assert o.shape == image.shape and o.dtype == tf.float32


def test_probabilities_zero_and_one():
    image = _image()
    seed = tf.constant([5, 6], tf.int64)
    np.testing.assert_array_equal(_augment(image, seed, 0, 0, 0.1, 0), image)
    for probs in ((1.0, 0, 0), (0, 1.0, 0), (0, 0, 1.0)):
        out = _augment(image, seed, probs[0], probs[1], 0.05, probs[2]).numpy()
        assert np.abs(out - image.numpy()).max() > 1e-4
    drawn = A.draw_photometric(seed, 1.0, 1.0, 0.05, 1.0)
    assert 0.5 <= float(drawn["blur_sigma"]) <= 2.0
    assert float(drawn["noise_stddev"]) == np.float32(0.05) and bool(drawn["occlude"])


def test_blur_and_noise_change_only_the_images_that_drew_them():
    images = tf.stack([_image(k) for k in range(4)])
    out = A.blur_and_noise(images, tf.constant([0.0, 1.5, 0.0, 0.0]),
                           tf.constant([0.0, 0.0, 0.05, 0.0]), tf.constant([1, 1], tf.int64))
    changed = np.abs(out.numpy() - images.numpy()).reshape(4, -1).max(-1) > 1e-6
    assert changed.tolist() == [False, True, True, False]
    np.testing.assert_allclose(out[1], A.gaussian_blur(images[1:2], tf.constant([1.5]))[0],
                               atol=1e-6)


def test_blur_keeps_constant_images_and_smooths_noise():
    flat = tf.fill([2, 16, 16, 3], 0.3)
    np.testing.assert_allclose(A.gaussian_blur(flat, tf.constant([0.7, 2.0])), flat, atol=1e-6)
    noisy = tf.stack([_image(3), _image(4)])
    blurred = A.gaussian_blur(noisy, tf.fill([2], 1.5))
    assert float(tf.math.reduce_std(blurred)) < 0.5 * float(tf.math.reduce_std(noisy))


def test_occluder_is_one_rectangle_of_the_configured_size():
    image = tf.fill([64, 64, 3], 0.5)
    sides = []
    for k in range(40):
        out = A.occlude(image, tf.constant([k, 9], tf.int64)).numpy()
        changed = np.abs(out - 0.5).max(-1) > 1e-6
        rows, cols = np.nonzero(changed.any(1))[0], np.nonzero(changed.any(0))[0]
        if len(rows) == 0:  # a grey fill of exactly 0.5 is invisible
            continue
        h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        assert changed[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].mean() > 0.9  # a block
        assert h <= np.ceil(0.4 * 64) + 1 and w <= np.ceil(0.4 * 64) + 1
        sides += [h, w]
    assert min(sides) < 20 and max(sides) >= 20  # sizes spread over 6-26 px (border clips)


def test_drawn_augmentations_follow_the_configured_statistics():
    """Over 600 seeds on a flat grey image: the fraction of images with noise, the noise's
    standard deviation and the fraction of occluded images match DataConfig's settings;
    blur, invisible on a flat image, is counted on a checkerboard with the same seeds."""
    n, p_blur, p_noise, stddev, p_occ = 600, 0.2, 0.3, 0.03, 0.25
    flat = tf.fill([48, 48, 3], 0.5)
    board = tf.constant(np.indices((48, 48)).sum(0)[..., None].repeat(3, -1) % 2 * 0.5 + 0.25,
                        tf.float32)
    fn = tf.function(lambda img, s: _augment(img, s, p_blur, p_noise, stddev, p_occ))
    noised, occluded, blurred, residual_std = 0, 0, 0, []
    for k in range(n):
        seed = tf.constant([7, k], tf.int64)
        diff = fn(flat, seed).numpy() - 0.5
        # an occluder changes a block of at least 4x4 pixels (0.1 x 48 px) by one value or
        # uniform noise; sensor noise changes every pixel by N(0, stddev^2)
        big = np.abs(diff) > 6 * stddev
        occluded += big.any()
        small = ~big
        if (np.abs(diff[small]) > 1e-6).mean() > 0.5:
            noised += 1
            residual_std.append(diff[small].std())
        out = fn(board, seed).numpy()
        blurred += np.abs(np.diff(out, axis=1)).mean() < 0.35  # the board's step is 0.5
    for count, p in ((noised, p_noise), (occluded, p_occ), (blurred, p_blur)):
        sd = np.sqrt(n * p * (1 - p))
        assert abs(count - n * p) < 4 * sd, (count, n * p)
    assert abs(np.mean(residual_std) - stddev) < 0.1 * stddev
