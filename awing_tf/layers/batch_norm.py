"""BatchNormalization that runs TensorFlow's fused kernel in the compute dtype.

Keras 3's ``BatchNormalization`` on the TensorFlow backend computes the batch moments and the
normalization as separate ops, in float32 even under ``mixed_bfloat16`` (it upcasts the input
and casts the result back). On a CPU, where every BatchNorm of the stacked hourglass is memory
bound, that costs a large share of the training step. ``BatchNormalization`` here is the same
layer (same weights, config and ``.keras`` layout) whose ``call`` uses ``FusedBatchNormV3``,
which oneDNN runs directly on bfloat16 activations with float32 scale, offset and statistics,
the way Keras 2 (``fused=True``) did. It keeps Keras' class name on purpose: ``.keras`` files
key each layer's variables by its class name, so models saved with either layer load into
the other.

Differences from the Keras layer, both standard for fused batch norm:
- the moving variance is updated with the unbiased batch variance (``n / (n - 1)``, as in
  Keras 2 and PyTorch); the normalization itself uses the biased one, as Keras 3 does;
- the fused path needs a 4-D ``(B, H, W, C)`` input normalized over the last axis; other
  cases (synchronized statistics across replicas, masks, renorm, other axes or ranks) run the
  parent's implementation unchanged.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="awing_tf")
class BatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` computed by ``FusedBatchNormV3``.

    Input ``(B, H, W, C)`` -> output ``(B, H, W, C)`` in the layer's compute dtype; ``gamma``,
    ``beta``, ``moving_mean`` and ``moving_variance`` are ``(C,)`` float32 variables.
    """

    def _fused_applies(self, inputs, mask) -> bool:
        axis = self.axis if isinstance(self.axis, int) else None
        return (keras.backend.backend() == "tensorflow" and not self.synchronized
                and not self.renorm and mask is None and len(inputs.shape) == 4
                and axis in (-1, 3) and self.scale and self.center)

    def call(self, inputs, training=None, mask=None):
        if not self._fused_applies(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, self.compute_dtype)
        gamma = tf.cast(self.gamma.value, tf.float32)
        beta = tf.cast(self.beta.value, tf.float32)
        if training and self.trainable:
            # With exponential_avg_factor < 1 the op returns the updated moving averages:
            # (1 - f) * old + f * batch, f = 1 - momentum.
            y, new_mean, new_variance, *_ = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=gamma, offset=beta, mean=self.moving_mean.value,
                variance=self.moving_variance.value, epsilon=self.epsilon,
                exponential_avg_factor=1.0 - self.momentum, data_format="NHWC",
                is_training=True)
            self.moving_mean.assign(new_mean)
            self.moving_variance.assign(new_variance)
            return y
        y, *_ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=gamma, offset=beta, mean=self.moving_mean.value,
            variance=self.moving_variance.value, epsilon=self.epsilon, data_format="NHWC",
            is_training=False)
        return y
