"""The NME as a Keras metric on heatmaps, for ``model.compile(metrics=...)``."""

from __future__ import annotations

import keras
import tensorflow as tf

from awing_tf.codec import decode_heatmaps
from awing_tf.schemes import get_scheme


@keras.saving.register_keras_serializable(package="awing_tf")
class NormalizedMeanError(keras.metrics.Metric):
    """Mean NME over images, from target and predicted heatmaps ``(B, h, w, K [+1])``.

    The target is decoded with ``subpixel`` (recovers the encoded sub-pixel landmark to
    < 0.1 heatmap px), the prediction with ``decode``; only the first ``num_landmarks``
    channels are used, so the boundary channel is ignored. Landmarks whose target peak is
    below 0.5 (outside the crop, or invisible) are left out, and so are images whose
    normalizer landmarks are. Normalized by the scheme's
    default normalizer computed on the decoded target. For exact reporting against the
    annotation use ``awing_tf.evaluate``.
    """

    def __init__(self, scheme: str = "300w68", normalizer: str | None = None,
                 decode: str = "quarter_offset", name: str = "nme", **kwargs):
        super().__init__(name=name, **kwargs)
        self.scheme = get_scheme(scheme).name
        self.normalizer = normalizer
        self.decode = decode
        a_idx, b_idx = get_scheme(scheme).normalizer_indices(normalizer)
        self._a_idx = list(a_idx)
        self._b_idx = list(b_idx)
        self._k = get_scheme(scheme).num_points
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        gt, gt_peak = decode_heatmaps(y_true[..., : self._k], method="subpixel")
        pred, _ = decode_heatmaps(y_pred[..., : self._k], method=self.decode)
        # Landmarks whose target has no clear peak (outside the crop after augmentation, or
        # not visible) are left out; so are images whose normalizer points are missing.
        present = tf.cast(gt_peak > 0.5, tf.float32)  # (B, K)
        a = tf.reduce_mean(tf.gather(gt, self._a_idx, axis=1), axis=1)
        b = tf.reduce_mean(tf.gather(gt, self._b_idx, axis=1), axis=1)
        norm_ok = tf.reduce_min(tf.gather(present, self._a_idx + self._b_idx, axis=1), axis=1)
        d = tf.maximum(tf.norm(a - b, axis=-1), 1e-6)
        err = tf.reduce_sum(tf.norm(pred - gt, axis=-1) * present, axis=-1)
        per_image = err / tf.maximum(tf.reduce_sum(present, axis=-1), 1.0) / d
        self.total.assign_add(tf.reduce_sum(per_image * norm_ok))
        self.count.assign_add(tf.reduce_sum(norm_ok))

    def result(self):
        return self.total / tf.maximum(self.count, 1.0)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(scheme=self.scheme, normalizer=self.normalizer, decode=self.decode)
        return config
