"""AveragePooling2x2: equal to Keras' average pooling, exported without AVERAGE_POOL_2D."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from awing_tf.layers.pooling import AveragePooling2x2
from tests.tflite_helpers import run_layer_in_tflite


@pytest.mark.parametrize("training", [False, True])
def test_equals_the_mean_of_each_2x2_window(training):
    x = np.random.default_rng(0).normal(size=(2, 6, 8, 5)).astype(np.float32)
    want = x.reshape(2, 3, 2, 4, 2, 5).mean(axis=(2, 4))
    got = AveragePooling2x2()(x, training=training).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got, keras.layers.AveragePooling2D(2)(x).numpy(), atol=1e-6)


def test_gradient_spreads_a_quarter_to_each_input():
    x = tf.constant(np.random.default_rng(1).normal(size=(1, 4, 4, 3)).astype(np.float32))
    layer = AveragePooling2x2()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(layer(x, training=True))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), np.full((1, 4, 4, 3), 0.25))


def test_bfloat16_and_contract(tmp_path):
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 3)).astype(np.float32)
    y = AveragePooling2x2(dtype="mixed_bfloat16")(tf.cast(x, tf.bfloat16))
    assert y.dtype == tf.bfloat16 and tuple(y.shape) == (2, 2, 2, 3)
    layer = AveragePooling2x2()
    config = layer.get_config()
    assert AveragePooling2x2.from_config(config).get_config() == config
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, AveragePooling2x2()(inputs))
    path = tmp_path / "pool.keras"
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="channel"):
        AveragePooling2x2().build((None, 4, 4, None))


def test_exports_as_a_depthwise_convolution():
    x = np.random.default_rng(3).normal(size=(1, 8, 8, 4)).astype(np.float32)
    ops, got = run_layer_in_tflite(AveragePooling2x2(), x)
    assert "AVERAGE_POOL_2D" not in ops and "DEPTHWISE_CONV_2D" in ops
    np.testing.assert_allclose(got, x.reshape(1, 4, 2, 4, 2, 4).mean(axis=(2, 4)), atol=1e-6)
