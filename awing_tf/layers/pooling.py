"""2x2 average pooling as a fixed depthwise convolution (the same numbers, a faster export)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="awing_tf")
class AveragePooling2x2(keras.layers.Layer):
    """``keras.layers.AveragePooling2D(2)`` that, outside training, is computed as a depthwise
    2x2 stride-2 convolution with constant weights 1/4 (no variables).

    The output is the same either way. The reason is export: the TFLite XNNPACK delegate does
    not run int8 ``AVERAGE_POOL_2D``, so each pooling op splits the delegated graph and runs
    on the slower built-in kernel, while an int8 ``DEPTHWISE_CONV_2D`` stays inside XNNPACK
    (the `mobile` int8 model: 1.33 -> 1.16 ms per face on one thread). Training keeps
    TensorFlow's average pooling, whose backward pass is cheaper on a CPU (the depthwise form
    made a `compact` training step ~8 % slower).

    Input ``(B, H, W, C)`` with even ``H``, ``W`` -> output ``(B, H/2, W/2, C)``.
    """

    def build(self, input_shape) -> None:
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("AveragePooling2x2 needs a known channel count")
        self._kernel = np.full((2, 2, int(channels), 1), 0.25, np.float32)

    def call(self, x, training=None):
        if training:
            return tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="VALID")
        kernel = tf.constant(self._kernel, dtype=x.dtype)
        return tf.nn.depthwise_conv2d(x, kernel, strides=[1, 2, 2, 1], padding="VALID")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else h // 2, None if w is None else w // 2, c)
