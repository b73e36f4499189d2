"""CoordConv, ConvBlock and Hourglass layers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from awing_tf.layers.conv_block import ConvBlock
from awing_tf.layers.coord_conv import CoordConv, coordinate_channels
from awing_tf.layers.hourglass import Hourglass
from tests.layer_testing import run_layer_test
from tests.tflite_helpers import run_layer_in_tflite


def test_coordinate_channel_values():
    xx, yy, rr = (c.numpy()[0, ..., 0] for c in coordinate_channels(1, 3, 5))
    np.testing.assert_allclose(xx[0], [-1, -0.5, 0, 0.5, 1])
    np.testing.assert_allclose(yy[:, 0], [-1, 0, 1])
    assert rr[1, 2] == 0.0 and rr[0, 0] == pytest.approx(1.0) and rr.max() == pytest.approx(1.0)


def _probe(layer: CoordConv, inputs) -> np.ndarray:
    """The channels CoordConv feeds its convolution: identity 1x1 kernel, no bias."""
    n_in = layer.conv.kernel.shape[2]
    layer.conv.kernel.assign(np.eye(n_in, layer.filters).reshape(1, 1, n_in, layer.filters))
    layer.conv.bias.assign(np.zeros(layer.filters))
    return keras.ops.convert_to_numpy(layer(inputs))


def test_coordconv_appends_xyr_and_boundary_masked_xy():
    x = np.full((1, 4, 4, 1), 7.0, np.float32)
    boundary = np.zeros((1, 4, 4, 1), np.float32)
    boundary[0, 1, 2, 0] = 0.05   # exactly at the threshold: kept (eq. 6 uses >=)
    boundary[0, 3, 0, 0] = 3.0    # clamped to 1: kept
    boundary[0, 0, 0, 0] = 0.049  # below: masked
    layer = CoordConv(6, kernel_size=1, with_boundary=True)
    layer.build([x.shape, boundary.shape])
    ch = _probe(layer, [x, boundary])[0]
    assert np.all(ch[..., 0] == 7.0)
    lin = np.linspace(-1, 1, 4)
    np.testing.assert_allclose(ch[..., 1], np.tile(lin, (4, 1)), atol=1e-6)
    np.testing.assert_allclose(ch[..., 2], np.tile(lin[:, None], (1, 4)), atol=1e-6)
    bx, by = ch[..., 4], ch[..., 5]
    assert bx[1, 2] == pytest.approx(lin[2]) and by[1, 2] == pytest.approx(lin[1])
    assert bx[3, 0] == pytest.approx(-1.0) and by[3, 0] == pytest.approx(1.0)
    assert np.count_nonzero(bx) == 2 and by[0, 0] == 0.0


def _explicit_coordconv(layer: CoordConv, x: np.ndarray, boundary=None) -> np.ndarray:
    """The CoordConv definition written out: x, y, r (and masked x, y) appended to the
    input as channels, then one Keras Conv2D with the layer's kernel and bias."""
    _, h, w, _ = x.shape
    xx, yy = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
    rr = np.sqrt(xx ** 2 + yy ** 2) / np.sqrt(2.0)
    grid = np.broadcast_to(np.stack([xx, yy, rr], -1), x.shape[:3] + (3,))
    parts = [x, grid]
    if boundary is not None:
        keep = np.clip(boundary, 0, 1) >= layer.boundary_threshold
        parts.append(np.where(keep, grid[..., :2], 0.0))
    conv = keras.layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides,
                               padding="same")
    channels = np.concatenate(parts, -1).astype(np.float32)
    conv.build(channels.shape)
    conv.set_weights([layer.conv.kernel.numpy(), layer.conv.bias.numpy()])
    return conv(channels).numpy()


@pytest.mark.parametrize(("kernel_size", "strides", "with_boundary"),
                         [(3, 2, False), (1, 1, False), (1, 1, True), (3, 1, True)])
def test_coordconv_equals_one_convolution_of_the_appended_channels(kernel_size, strides,
                                                                    with_boundary):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 8, 10, 3)).astype(np.float32)
    b = rng.uniform(-0.2, 1.2, size=(2, 8, 10, 1)).astype(np.float32)
    layer = CoordConv(5, kernel_size=kernel_size, strides=strides, with_boundary=with_boundary)
    layer.build([x.shape, b.shape] if with_boundary else x.shape)
    layer.conv.bias.assign(rng.normal(size=5))
    got = layer([x, b] if with_boundary else x).numpy()
    want = _explicit_coordconv(layer, x, b if with_boundary else None)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize(("kernel_size", "strides"), [(3, 2), (1, 1)])
def test_coordconv_coordinate_term_is_a_constant_in_tflite(kernel_size, strides):
    """No coordinate channel is concatenated at run time: one conv of the input plus a
    folded constant."""
    rng = np.random.default_rng(5)
    layer = CoordConv(8, kernel_size=kernel_size, strides=strides)
    layer.build((1, 16, 16, 4))
    layer.conv.bias.assign(rng.normal(size=8))
    x = rng.normal(size=(1, 16, 16, 4)).astype(np.float32)
    ops, got = run_layer_in_tflite(layer, x)
    assert sorted(op for op in ops if op != "DELEGATE") == ["ADD", "CONV_2D"], ops
    np.testing.assert_allclose(got, _explicit_coordconv(layer, x), atol=1e-4)


def test_coordconv_layer_contract(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    run_layer_test(CoordConv, {"filters": 4, "kernel_size": 3, "strides": 2}, x, tmp_path,
                   (2, 4, 4, 4))


def test_coordconv_with_boundary_contract(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    b = rng.uniform(size=(2, 8, 8, 1)).astype(np.float32)
    run_layer_test(CoordConv, {"filters": 5, "with_boundary": True}, [x, b], tmp_path,
                   (2, 8, 8, 5))


def test_convblock_contract_and_param_count(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 8)).astype(np.float32)
    run_layer_test(ConvBlock, {"filters": 16}, x, tmp_path, (2, 8, 8, 16))
    block = ConvBlock(16)
    block.build((None, 8, 8, 8))
    # 3x3 convs 8->8, 8->4, 4->4 (no bias), 1x1 skip 8->16, four BNs (4 weights per channel).
    want = 9 * 8 * 8 + 9 * 8 * 4 + 9 * 4 * 4 + 8 * 16 + 4 * (8 + 8 + 4 + 8)
    assert block.count_params() == want


def test_convblock_identity_skip_when_widths_match():
    block = ConvBlock(8)
    block.build((None, 4, 4, 8))
    assert block.skip_conv is None


def test_separable_convblock_contract(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 8)).astype(np.float32)
    run_layer_test(ConvBlock, {"filters": 8, "separable": True}, x, tmp_path, (2, 8, 8, 8))


def test_hourglass_contract(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 8)).astype(np.float32)
    run_layer_test(Hourglass, {"filters": 8, "depth": 2}, x, tmp_path, (2, 8, 8, 8))
    hg = Hourglass(8, depth=3)
    hg.build((None, 8, 8, 8))
    assert len(hg.up) == 3  # one upper branch per level: 3 * 3 + 1 ConvBlocks in all
    n_blocks = sum(isinstance(layer, ConvBlock) for layer in hg._flatten_layers())
    assert n_blocks == 10


@pytest.mark.parametrize("kwargs", [{"filters": 6}, {"filters": "8"}])
def test_convblock_bad_filters(kwargs):
    with pytest.raises(ValueError, match="filters"):
        ConvBlock(**kwargs)


def test_hourglass_bad_depth():
    with pytest.raises(ValueError, match="depth"):
        Hourglass(8, depth=0)


def _randomise_batch_norms(layer, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for bn in layer._flatten_layers():
        if isinstance(bn, keras.layers.BatchNormalization):
            c = bn.moving_mean.shape[0]
            bn.moving_mean.assign(rng.normal(0.0, 0.3, c))
            bn.moving_variance.assign(rng.uniform(0.5, 2.0, c))
            bn.gamma.assign(rng.uniform(0.5, 1.5, c))
            bn.beta.assign(rng.normal(0.0, 0.3, c))


def test_post_activation_convblock_computes_conv_bn_relu(tmp_path):
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 8)).astype(np.float32)
    run_layer_test(ConvBlock, {"filters": 16, "post_activation": True}, x, tmp_path,
                   (2, 6, 6, 16))
    block = ConvBlock(16, post_activation=True)
    block.build((None, 6, 6, 8))
    _randomise_batch_norms(block)

    def bn(layer, h):
        return ((h - layer.moving_mean.numpy()) / np.sqrt(layer.moving_variance.numpy() + 1e-5)
                * layer.gamma.numpy() + layer.beta.numpy())

    h, outs = x, []
    for b, conv in zip(block.bns, block.convs, strict=True):
        h = np.maximum(bn(b, conv(h).numpy()), 0.0)
        outs.append(h)
    want = np.concatenate(outs, -1) + bn(block.skip_bn, block.skip_conv(x).numpy())
    np.testing.assert_allclose(block(x, training=False).numpy(), want, atol=1e-4)


@pytest.mark.parametrize(("post", "separable"), [(True, False), (True, True), (False, False)])
def test_post_activation_leaves_no_batch_norm_ops_in_tflite(post, separable):
    """Exported conv -> BN blocks fold every BN into the conv; pre-activation ones cannot."""
    block = ConvBlock(16, separable=separable, post_activation=post)
    block.build((None, 8, 8, 8))
    _randomise_batch_norms(block, seed=2)
    x = np.random.default_rng(3).normal(size=(1, 8, 8, 8)).astype(np.float32)
    ops, got = run_layer_in_tflite(block, x)
    elementwise = sum(op in ("MUL", "SUB") for op in ops)
    assert (elementwise == 0) if post else (elementwise >= 4), ops
    np.testing.assert_allclose(got, block(x, training=False).numpy(), atol=1e-4)
