"""NearestUpsampling2x: equal to Keras' nearest upsampling, exported without TILE."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from awing_tf.layers.upsampling import NearestUpsampling2x
from tests.tflite_helpers import run_layer_in_tflite


def test_repeats_each_pixel_into_a_2x2_block():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    want = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)
    got = NearestUpsampling2x()(x).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        got, keras.layers.UpSampling2D(2, interpolation="nearest")(x).numpy())


def test_unknown_height_and_width():
    layer = NearestUpsampling2x()
    fn = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, 3))])
    x = np.arange(2 * 2 * 3 * 3, dtype=np.float32).reshape(2, 2, 3, 3)
    np.testing.assert_array_equal(fn(x).numpy(), np.repeat(np.repeat(x, 2, 1), 2, 2))


def test_gradient_sums_the_four_copies():
    x = tf.constant(np.random.default_rng(1).normal(size=(1, 3, 3, 2)).astype(np.float32))
    weights = tf.constant(np.random.default_rng(2).normal(size=(1, 6, 6, 2)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(NearestUpsampling2x()(x) * weights)
    want = weights.numpy().reshape(1, 3, 2, 3, 2, 2).sum(axis=(2, 4))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), want, atol=1e-5)


def test_bfloat16_and_contract(tmp_path):
    y = NearestUpsampling2x(dtype="mixed_bfloat16")(tf.ones((1, 2, 2, 3), tf.bfloat16))
    assert y.dtype == tf.bfloat16 and tuple(y.shape) == (1, 4, 4, 3)
    inputs = keras.Input((2, 3, 4))
    model = keras.Model(inputs, NearestUpsampling2x()(inputs))
    assert model.output_shape == (None, 4, 6, 4)
    path = tmp_path / "up.keras"
    model.save(path)
    x = np.random.default_rng(3).normal(size=(2, 2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(keras.saving.load_model(path).predict(x, verbose=0),
                                  model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="channel"):
        NearestUpsampling2x().build((None, 4, 4, None))


def test_exports_without_tile_in_one_delegate_partition():
    x = np.random.default_rng(4).normal(size=(1, 4, 4, 8)).astype(np.float32)
    ops, got = run_layer_in_tflite(NearestUpsampling2x(), x)
    assert "TILE" not in ops and "CONCATENATION" in ops
    assert ops.count("DELEGATE") == 1
    np.testing.assert_array_equal(got, np.repeat(np.repeat(x, 2, 1), 2, 2))
