"""The Bulat/FAN ConvBlock (pre- or post-activation) and its BatchNorm factory."""

from __future__ import annotations

import keras
import tensorflow as tf

from awing_tf.layers.arguments import check_int
from awing_tf.layers.batch_norm import BatchNormalization
from awing_tf.layers.conv_weight_gradient import (
    conv3x3_gemm_weight_gradient,
    gemm_weight_gradient_pays,
)

BN_MOMENTUM = 0.9  # PyTorch's default 0.1 in Keras' convention
BN_EPSILON = 1e-5


def with_current_names(config: dict) -> dict:
    """A layer config with arguments renamed since files were saved (``sync_bn`` is now
    ``sync_batch_norm``), so older ``.keras`` files load."""
    config = dict(config)
    if "sync_bn" in config:
        config["sync_batch_norm"] = config.pop("sync_bn")
    return config


def batch_norm(name: str, policy=None, synchronized: bool = False):
    """BatchNormalization with PyTorch-like momentum, computed by the fused kernel
    (``awing_tf.layers.batch_norm``); ``synchronized`` averages the batch statistics over all
    replicas of a ``tf.distribute`` strategy (so a multi-replica step computes the same loss
    as one process with the global batch) and uses Keras' own implementation."""
    return BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, synchronized=synchronized, name=name,
        dtype=policy,
    )


@keras.saving.register_keras_serializable(package="awing_tf")
class ConvBlock(keras.layers.Layer):
    """Hierarchical, parallel, multi-scale block of Bulat & Tzimiropoulos (FAN).

    Three pre-activated (BN, ReLU) 3x3 convolutions in sequence with ``out/2``, ``out/4``,
    ``out/4`` filters, concatenated to ``out`` channels, plus the input (through BN, ReLU and
    a 1x1 convolution when the widths differ). ``separable=True`` uses depthwise-separable
    3x3 convolutions (for the mobile preset). ``post_activation=True`` orders each branch
    conv -> BN -> ReLU instead (and the skip conv -> BN), so that an exported model folds
    every BatchNorm into the convolution before it (no per-channel MUL/ADD ops left in TFLite).

    In a float32 training step with oneDNN on, the large 3x3 layers compute their weight
    gradient as one matrix product (``awing_tf.layers.conv_weight_gradient``); the forward
    pass and the saved layers are the same either way.

    Input ``(B, H, W, C_in)`` -> output ``(B, H, W, filters)``.
    """

    def __init__(self, filters: int, separable: bool = False, sync_batch_norm: bool = False,
                 post_activation: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters, minimum=4, multiple_of=4)
        self.separable = separable
        self.sync_batch_norm = sync_batch_norm
        self.post_activation = post_activation
        policy = self.dtype_policy
        widths = (filters // 2, filters // 4, filters // 4)
        conv_cls = keras.layers.SeparableConv2D if separable else keras.layers.Conv2D
        self.bns = [batch_norm(f"bn{i + 1}", policy, sync_batch_norm) for i in range(3)]
        self.convs = [
            conv_cls(w, 3, padding="same", use_bias=False, name=f"conv{i + 1}", dtype=policy)
            for i, w in enumerate(widths)
        ]
        self.relu = keras.layers.ReLU(dtype=policy)
        self.concat = keras.layers.Concatenate(dtype=policy)
        self.add = keras.layers.Add(dtype=policy)
        self.skip_bn = None
        self.skip_conv = None

    def build(self, input_shape) -> None:
        in_ch = input_shape[-1]
        shape = tuple(input_shape)
        for bn, conv in zip(self.bns, self.convs, strict=True):
            conv.build(shape)
            out_shape = conv.compute_output_shape(shape)
            bn.build(out_shape if self.post_activation else shape)
            shape = out_shape
        if in_ch != self.filters:
            self.skip_bn = batch_norm("skip_bn", self.dtype_policy, self.sync_batch_norm)
            self.skip_conv = keras.layers.Conv2D(
                self.filters, 1, use_bias=False, name="skip_conv", dtype=self.dtype_policy
            )
            self.skip_conv.build(tuple(input_shape))
            self.skip_bn.build(self.skip_conv.compute_output_shape(tuple(input_shape))
                               if self.post_activation else tuple(input_shape))

    def call(self, x, training=None):
        outs = []
        h = x
        for bn, conv in zip(self.bns, self.convs, strict=True):
            if self.post_activation:
                h = self.relu(bn(self._convolve(conv, h, training), training=training))
            else:
                h = self._convolve(conv, self.relu(bn(h, training=training)), training)
            outs.append(h)
        out = self.concat(outs)
        residual = x
        if self.skip_conv is not None:
            if self.post_activation:
                residual = self.skip_bn(self.skip_conv(x), training=training)
            else:
                residual = self.skip_conv(self.relu(self.skip_bn(x, training=training)))
        return self.add([out, residual])

    def _convolve(self, conv: keras.layers.Layer, h, training):
        """``conv(h)``, through :func:`conv3x3_gemm_weight_gradient` in a float32 training
        step where the matrix-product weight gradient pays for this layer's size."""
        if (training is True and not self.separable and self.compute_dtype == "float32"
                and keras.backend.backend() == "tensorflow"
                and gemm_weight_gradient_pays(h.shape[1], h.shape[2], h.shape[-1],
                                              conv.filters)):
            return conv3x3_gemm_weight_gradient(h, tf.convert_to_tensor(conv.kernel))
        return conv(h)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(filters=self.filters, separable=self.separable, sync_batch_norm=self.sync_batch_norm,
                      post_activation=self.post_activation)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**with_current_names(config))
