"""The fused BatchNormalization against the batch-norm equations and Keras' own layer."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from awing_tf.layers.batch_norm import BatchNormalization as FusedBN
from awing_tf.layers.conv_block import batch_norm
from tests.layer_testing import run_layer_test

EPS = 1e-5


def _pair(x: np.ndarray, momentum: float = 0.9):
    """A Keras and a fused layer with the same random gamma/beta."""
    rng = np.random.default_rng(1)
    c = x.shape[-1]
    gamma = rng.normal(1.0, 0.2, c).astype("float32")
    beta = rng.normal(0.0, 0.2, c).astype("float32")
    layers = (keras.layers.BatchNormalization(momentum=momentum, epsilon=EPS),
              FusedBN(momentum=momentum, epsilon=EPS))
    for layer in layers:
        layer.build(x.shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    return layers, gamma, beta


def test_training_output_and_moving_statistics_follow_the_equations():
    x = np.random.default_rng(0).normal(2.0, 3.0, (4, 5, 6, 7)).astype("float32")
    (_, fused), gamma, beta = _pair(x, momentum=0.9)
    y = fused(x, training=True).numpy()
    x64 = x.astype(np.float64)
    mean, var = x64.mean((0, 1, 2)), x64.var((0, 1, 2))
    expected = (x64 - mean) / np.sqrt(var + EPS) * gamma + beta
    np.testing.assert_allclose(y, expected, atol=2e-5)
    n = x.size // x.shape[-1]
    np.testing.assert_allclose(fused.moving_mean.numpy(), 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused.moving_variance.numpy(),
                               0.9 * 1.0 + 0.1 * var * n / (n - 1), rtol=1e-5)


def test_inference_uses_moving_statistics():
    x = np.random.default_rng(2).normal(0.0, 1.0, (2, 3, 3, 4)).astype("float32")
    (_, fused), gamma, beta = _pair(x)
    fused.moving_mean.assign([0.5, -1.0, 2.0, 0.0])
    fused.moving_variance.assign([4.0, 1.0, 0.25, 9.0])
    expected = ((x - np.array([0.5, -1.0, 2.0, 0.0])) / np.sqrt(
        np.array([4.0, 1.0, 0.25, 9.0]) + EPS) * gamma + beta)
    np.testing.assert_allclose(fused(x, training=False).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(fused(x).numpy(), expected, atol=1e-5)


def test_gradients_match_keras_batch_norm():
    x = tf.constant(np.random.default_rng(3).normal(1.0, 2.0, (3, 4, 4, 5)).astype("float32"))
    (plain, fused), _, _ = _pair(x.numpy())
    weights = tf.constant(np.random.default_rng(4).normal(size=x.shape).astype("float32"))
    grads = []
    for layer in (plain, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) ** 2 * weights)
        grads.append(tape.gradient(loss, [x, layer.gamma.value, layer.beta.value]))
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def test_frozen_layer_runs_in_inference_mode():
    x = np.random.default_rng(5).normal(3.0, 1.0, (2, 4, 4, 3)).astype("float32")
    (_, fused), _, _ = _pair(x)
    fused.trainable = False
    fused(x, training=True)
    np.testing.assert_array_equal(fused.moving_mean.numpy(), np.zeros(3))


def test_bfloat16_policy_keeps_float32_statistics():
    x = np.random.default_rng(6).normal(2.0, 3.0, (2, 8, 8, 16)).astype("float32")
    layer = FusedBN(dtype="mixed_bfloat16")
    y = layer(tf.cast(x, tf.bfloat16), training=True)
    assert y.dtype == tf.bfloat16
    assert layer.gamma.dtype == "float32" and layer.moving_mean.dtype == "float32"
    mean = x.mean((0, 1, 2))
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.01 * mean, rtol=0.02, atol=1e-3)
    normed = (x - mean) / np.sqrt(x.var((0, 1, 2)) + EPS)
    np.testing.assert_allclose(tf.cast(y, tf.float32).numpy(), normed, atol=0.05)


@pytest.mark.parametrize("kwargs, shape", [({"synchronized": True}, (2, 3, 3, 4)),
                                           ({}, (2, 5, 4)), ({"axis": 1}, (2, 4, 3, 3))])
def test_other_cases_fall_back_to_keras(kwargs, shape):
    x = np.random.default_rng(7).normal(1.0, 2.0, shape).astype("float32")
    plain = keras.layers.BatchNormalization(epsilon=EPS, **kwargs)
    fused = FusedBN(epsilon=EPS, **kwargs)
    np.testing.assert_allclose(fused(x, training=True).numpy(),
                               plain(x, training=True).numpy(), atol=1e-6)
    np.testing.assert_allclose(fused.moving_variance.numpy(), plain.moving_variance.numpy(),
                               atol=1e-7)


def test_contract_and_factory(tmp_path):
    x = np.random.default_rng(8).normal(size=(2, 6, 6, 4)).astype("float32")
    run_layer_test(FusedBN, {"momentum": 0.9, "epsilon": EPS}, x, tmp_path,
                   (2, 6, 6, 4))
    assert type(batch_norm("bn")) is FusedBN
    assert batch_norm("bn", synchronized=True).synchronized


def test_models_saved_with_keras_batch_norm_load_into_the_fused_layer(tmp_path, monkeypatch):
    import awing_tf
    from awing_tf.layers import conv_block
    from awing_tf.models import stacked_hourglass
    from awing_tf.models.face_aligner import load_aligner

    def keras_bn(name, policy=None, synchronized=False):
        return keras.layers.BatchNormalization(momentum=0.9, epsilon=EPS, name=name,
                                               dtype=policy)

    with monkeypatch.context() as patch:
        patch.setattr(conv_block, "batch_norm", keras_bn)
        patch.setattr(stacked_hourglass, "batch_norm", keras_bn)
        old = awing_tf.FaceAligner.from_preset("tiny", scheme="300w68")
        assert not any(type(layer) is FusedBN for layer in old._flatten_layers())
        rng = np.random.default_rng(9)
        for layer in old._flatten_layers():  # non-trivial statistics
            if isinstance(layer, keras.layers.BatchNormalization):
                c = layer.moving_mean.shape[0]
                layer.moving_mean.assign(rng.normal(0.0, 0.3, c))
                layer.moving_variance.assign(rng.uniform(0.5, 2.0, c))
        path = tmp_path / "old.keras"
        old.save(path)
    x = rng.uniform(0.0, 1.0, (2, 64, 64, 3)).astype("float32")
    restored = load_aligner(str(path))
    assert sum(type(layer) is FusedBN for layer in restored._flatten_layers()) > 0
    np.testing.assert_allclose(restored.predict_landmarks(x), old.predict_landmarks(x),
                               atol=1e-3)
    for a, b in zip(old.predict(x, verbose=0), restored.predict(x, verbose=0), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
