"""2x nearest-neighbour upsampling as concatenations and reshapes (the same numbers, one
delegate partition in TFLite)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="awing_tf")
class NearestUpsampling2x(keras.layers.Layer):
    """``keras.layers.UpSampling2D(2, interpolation="nearest")`` written as
    ``concat([x, x], -1) -> reshape`` (each pixel twice along W) then
    ``concat([y, y], 2) -> reshape`` (each row twice along H).

    The output is identical. The reason is export: ``UpSampling2D`` becomes
    ``RESHAPE -> TILE -> RESHAPE`` twice, and the TFLite XNNPACK delegate does not run
    ``TILE``, so each upsampling splits the delegated graph and runs on the built-in kernel
    (the ``mobile`` model: 7 delegate partitions instead of 1). ``CONCATENATION`` and
    ``RESHAPE`` stay inside XNNPACK, in float and in int8.

    Input ``(B, H, W, C)`` with a known ``C`` -> output ``(B, 2H, 2W, C)``.
    """

    def build(self, input_shape) -> None:
        if input_shape[-1] is None:
            raise ValueError("NearestUpsampling2x needs a known channel count")

    def call(self, x):
        dynamic = tf.shape(x)
        h = x.shape[1] if x.shape[1] is not None else dynamic[1]
        w = x.shape[2] if x.shape[2] is not None else dynamic[2]
        c = x.shape[-1]
        y = tf.reshape(tf.concat([x, x], axis=-1), [-1, h, 2 * w, c])
        return tf.reshape(tf.concat([y, y], axis=2), [-1, 2 * h, 2 * w, c])

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, c)
