"""The 3x3 weight gradient as a matrix product: equal to the convolution's own gradient, taken
only where it pays, and a ConvBlock trains the same with it as without."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from awing_tf.layers import conv_weight_gradient as cwg
from awing_tf.layers.conv_block import ConvBlock


@pytest.fixture
def onednn_on(monkeypatch):
    """Takes the oneDNN-only path on any CPU (the gradient is the same maths either way)."""
    monkeypatch.setattr(cwg, "onednn_enabled", lambda: True)
    yield
    cwg.set_weight_gradient("auto")


def numpy_weight_gradient(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dW[i, j, c, o] = sum_{b, y, x} xpad[b, y + i, x + j, c] * dy[b, y, x, o] (SAME, 3x3)."""
    b, h, w, _ = x.shape
    xp = np.pad(x.astype(np.float64), [(0, 0), (1, 1), (1, 1), (0, 0)])
    return np.stack([np.stack([np.einsum("bhwc,bhwo->co", xp[:, i:i + h, j:j + w], dy)
                               for j in range(3)]) for i in range(3)])


def test_gemm_gradient_equals_the_sum_written_out():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 7, 3)).astype(np.float32)
    dy = rng.normal(size=(2, 5, 7, 4)).astype(np.float32)
    got = cwg.weight_gradient_by_gemm(tf.constant(x), tf.constant(dy)).numpy()
    assert got.shape == (3, 3, 3, 4)
    np.testing.assert_allclose(got, numpy_weight_gradient(x, dy), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 16, 16, 8, 12), (2, 9, 13, 5, 3), (1, 32, 8, 16, 16)])
def test_custom_gradient_equals_tensorflows_conv_gradient(shape):
    b, h, w, c_in, c_out = shape
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(b, h, w, c_in)).astype(np.float32))
    k = tf.constant(rng.normal(size=(3, 3, c_in, c_out)).astype(np.float32))
    probe = tf.constant(rng.normal(size=(b, h, w, c_out)).astype(np.float32))

    def grads(conv):
        with tf.GradientTape() as tape:
            tape.watch([x, k])
            y = conv(x, k)
            loss = tf.reduce_sum(tf.sin(y) * probe)
        return (y, *tape.gradient(loss, [x, k]))

    y0, dx0, dk0 = grads(lambda a, b_: tf.nn.conv2d(a, b_, 1, "SAME"))
    y1, dx1, dk1 = grads(cwg.conv3x3_gemm_weight_gradient)
    np.testing.assert_array_equal(y1.numpy(), y0.numpy())
    np.testing.assert_allclose(dx1.numpy(), dx0.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dk1.numpy(), dk0.numpy(), rtol=1e-4,
                               atol=1e-5 * float(np.abs(dk0).max()))


def test_the_rule_picks_large_layers_only_with_onednn(onednn_on, monkeypatch):
    pays = cwg.gemm_weight_gradient_pays
    assert pays(64, 64, 256, 128) and pays(64, 64, 128, 64) and pays(128, 128, 64, 64)
    assert not pays(64, 64, 64, 64)  # measured slower
    assert not pays(32, 32, 256, 128) and not pays(128, 128, 32, 32)
    assert not pays(128, 128, 64, 16) and not pays(None, 64, 256, 128)
    cwg.set_weight_gradient("native")
    assert not pays(64, 64, 256, 128)
    cwg.set_weight_gradient("auto")
    monkeypatch.setattr(cwg, "onednn_enabled", lambda: False)
    assert not pays(64, 64, 256, 128)  # Eigen's own weight gradient is as fast
    with pytest.raises(ValueError, match="'fast'"):
        cwg.set_weight_gradient("fast")


def _block_step(block: ConvBlock, x: tf.Tensor):
    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = block(x, training=True)
            loss = tf.reduce_sum(tf.sin(y))
        return y, tape.gradient(loss, [x] + block.trainable_variables)

    graph = step.get_concrete_function(x).graph
    return step(x), {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("post_activation", [False, True])
def test_conv_block_trains_the_same_with_the_gemm_gradient(onednn_on, post_activation):
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(2, 64, 64, 128)).astype(np.float32))
    block = ConvBlock(256, post_activation=post_activation)
    block.build(x.shape)
    cwg.set_weight_gradient("native")
    (y0, g0), ops0 = _block_step(block, x)
    cwg.set_weight_gradient("auto")
    (y1, g1), ops1 = _block_step(block, x)
    assert "ExtractImagePatches" in ops1 and "ExtractImagePatches" not in ops0
    np.testing.assert_array_equal(y1.numpy(), y0.numpy())
    names = ["x"] + [v.path for v in block.trainable_variables]
    for name, a, b in zip(names, g1, g0, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4,
                                   atol=1e-5 * float(np.abs(b.numpy()).max()), err_msg=name)


def test_inference_and_bfloat16_keep_the_native_gradient(onednn_on):
    x = tf.zeros((1, 64, 64, 128))
    block = ConvBlock(256)
    block.build(x.shape)
    graph = tf.function(lambda x: block(x, training=False)).get_concrete_function(x).graph
    assert "ExtractImagePatches" not in {op.type for op in graph.get_operations()}
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        bf16 = ConvBlock(256)
        bf16.build(x.shape)
        _, ops = _block_step(bf16, x)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert "Conv2DBackpropFilter" in ops and "ExtractImagePatches" not in ops


def test_a_face_aligner_step_updates_the_weights_as_with_the_native_gradient(onednn_on,
                                                                               monkeypatch):
    """One ``train_on_batch`` (plain SGD, learning rate 1: the update is the gradient) of a
    one-stack model with a 128-channel hourglass at 64 x 64: the matrix product is traced for
    its large layers (counted) and every update equals the native gradient's."""
    from awing_tf.config import apply_overrides, preset
    from awing_tf.models.face_aligner import FaceAligner
    from awing_tf.training.compile import compile_for_training

    cfg = apply_overrides(preset("tiny"), [
        "model.num_stacks=1", "model.num_features=128", "model.input_size=256",
        "model.heatmap_size=64", "model.hourglass_depth=1", "train.precision=float32"])
    calls = []
    product = cwg.weight_gradient_by_gemm
    monkeypatch.setattr(cwg, "weight_gradient_by_gemm",
                        lambda x, dy: calls.append(x.shape) or product(x, dy))
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (1, 256, 256, 3)).astype(np.float32)
    lm = rng.uniform(60, 200, (1, cfg.spec.num_landmarks, 2)).astype(np.float32)
    y = {"landmarks": lm, "visible": np.ones(lm.shape[:2], np.float32)}
    weights = {}  # path -> the step's update
    for mode in ("native", "auto"):
        cwg.set_weight_gradient(mode)
        keras.utils.set_random_seed(0)
        model = FaceAligner(cfg.model)
        compile_for_training(model, cfg, steps_per_epoch=1,
                             optimizer=keras.optimizers.SGD(learning_rate=1.0))
        before = {v.path: v.numpy() for v in model.trainable_variables}
        model.train_on_batch(x, y)
        weights[mode] = {v.path: before[v.path] - v.numpy() for v in model.trainable_variables}
        assert bool(calls) == (mode == "auto"), (mode, calls)
    assert all(shape[1:] == (64, 64, 128) for shape in calls)
    for path, native in weights["native"].items():
        np.testing.assert_allclose(weights["auto"][path], native, rtol=0,
                                   atol=1e-4 * float(np.abs(native).max()), err_msg=path)
