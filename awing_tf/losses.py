"""Adaptive Wing loss (paper eq. 3), the Weighted Loss Map (eq. 4-5) and baselines.

All losses take heatmaps ``y_true, y_pred: (B, h, w, C)`` and compute in float32.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from awing_tf.choices import LOSS_NAMES

WEIGHT_MAPS = ("none", "dilated", "base")


def adaptive_wing_elementwise(
    y_true: tf.Tensor,
    y_pred: tf.Tensor,
    omega: float = 14.0,
    theta: float = 0.5,
    epsilon: float = 1.0,
    alpha: float = 2.1,
) -> tf.Tensor:
    """Adaptive Wing loss per element (paper eq. 3); same shape as the inputs.

    ``omega ln(1 + |d/eps|^(alpha - y))`` where ``|d| < theta``, else ``A|d| - C``, with
    ``d = y - y_hat`` and ``A``, ``C`` making the loss continuous and C1 at ``|d| = theta``.
    The exponent depends on ``y_true`` only and carries no gradient.
    """
    y = tf.stop_gradient(tf.cast(y_true, tf.float32))
    y_hat = tf.cast(y_pred, tf.float32)
    d = tf.abs(y - y_hat)
    p = alpha - y  # the adaptive power, in (alpha - 1, alpha] for y in [0, 1]
    t = theta / epsilon
    t_pow = tf.pow(t, p)
    a = omega * (1.0 / (1.0 + t_pow)) * p * tf.pow(t, p - 1.0) * (1.0 / epsilon)
    c = theta * a - omega * tf.math.log1p(t_pow)
    small = d < theta
    # Feed the non-linear branch a value below theta everywhere, so neither branch sees an
    # argument that could overflow in the one tf.where discards (its gradient would be NaN).
    d_small = tf.where(small, d, tf.zeros_like(d))
    nonlinear = omega * tf.math.log1p(tf.pow(d_small / epsilon, p))
    linear = a * d - c
    return tf.where(small, nonlinear, linear)


def wing_elementwise(
    y_true: tf.Tensor, y_pred: tf.Tensor, omega: float = 10.0, epsilon: float = 2.0
) -> tf.Tensor:
    """Wing loss of Feng et al. (paper eq. 2) per element; same shape as the inputs."""
    d = tf.abs(tf.cast(y_true, tf.float32) - tf.cast(y_pred, tf.float32))
    c = omega - omega * math.log1p(omega / epsilon)
    return tf.where(d < omega, omega * tf.math.log1p(d / epsilon), d - c)


def weighted_loss_map(
    y_true: tf.Tensor, weight: float = 10.0, threshold: float = 0.2
) -> tf.Tensor:
    """Weighted Loss Map ``W * M + 1`` (paper eq. 4-5).

    ``M = [grey_dilate_3x3(y_true) >= threshold]``; a 3x3 flat grey dilation is a 3x3 max
    pool with stride 1 and SAME padding (which also converts to TFLite, unlike dilation2d).

    y_true: ``(B, h, w, C)``. Returns ``(B, h, w, C)`` float32 with values 1 or 1 + weight.
    """
    y = tf.cast(y_true, tf.float32)
    dilated = tf.nn.max_pool2d(y, ksize=3, strides=1, padding="SAME")
    mask = tf.cast(dilated >= threshold, tf.float32)
    return tf.stop_gradient(weight * mask + 1.0)


def base_weight_map(y_true: tf.Tensor, weight: float = 10.0) -> tf.Tensor:
    """``WM_base = W * H + 1`` of Table 7: weight by the target heatmap itself, no mask."""
    return tf.stop_gradient(weight * tf.cast(y_true, tf.float32) + 1.0)


def _weight_map(kind: str, y_true: tf.Tensor, weight: float, threshold: float) -> tf.Tensor | None:
    if kind == "none":
        return None
    if kind == "dilated":
        return weighted_loss_map(y_true, weight, threshold)
    return base_weight_map(y_true, weight)


def _check_kind(weight_map: str) -> None:
    if weight_map not in WEIGHT_MAPS:
        raise ValueError(f"weight_map must be one of {WEIGHT_MAPS}, got {weight_map!r}")


class _HeatmapLoss(keras.losses.Loss):
    """Shared plumbing: element loss x optional weight map, mean over (h, w, C) per sample."""

    def __init__(
        self,
        weight_map: str = "dilated",
        weight: float = 10.0,
        threshold: float = 0.2,
        name: str | None = None,
        reduction: str = "sum_over_batch_size",
        dtype: str | None = None,
    ):
        _check_kind(weight_map)
        super().__init__(name=name, reduction=reduction, dtype=dtype or "float32")
        self.weight_map = weight_map
        self.weight = float(weight)
        self.threshold = float(threshold)

    def elementwise(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        """Per-sample loss ``(B,)``; the default reduction averages it over the batch."""
        y_true = tf.cast(y_true, tf.float32)
        loss = self.elementwise(y_true, y_pred)
        wm = _weight_map(self.weight_map, y_true, self.weight, self.threshold)
        if wm is not None:
            loss = loss * wm
        return tf.reduce_mean(loss, axis=[1, 2, 3])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(weight_map=self.weight_map, weight=self.weight, threshold=self.threshold)
        return config


@keras.saving.register_keras_serializable(package="awing_tf")
class AdaptiveWingLoss(_HeatmapLoss):
    """Adaptive Wing loss with the Weighted Loss Map: ``mean(AWing(y, y_hat) * (W*M + 1))``.

    Args:
      omega, theta, epsilon, alpha: eq. 3 (paper values 14, 0.5, 1, 2.1).
      use_weight_map: multiply by the Weighted Loss Map (eq. 5); ``False`` is "AW" of Table 7.
      weight, threshold: ``W`` and the mask threshold of eq. 4-5 (paper 10 and 0.2).
      weight_map: ``dilated`` (the paper's map), ``base`` (``W*H + 1``, Table 7's WM_base)
        or ``none``; ``use_weight_map=False`` means ``none``.
    """

    def __init__(
        self,
        omega: float = 14.0,
        theta: float = 0.5,
        epsilon: float = 1.0,
        alpha: float = 2.1,
        use_weight_map: bool = True,
        weight: float = 10.0,
        threshold: float = 0.2,
        weight_map: str = "dilated",
        name: str = "adaptive_wing_loss",
        **kwargs,
    ):
        for arg, value in (("omega", omega), ("theta", theta), ("epsilon", epsilon),
                           ("alpha", alpha)):
            if not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{arg} must be a positive number, got {value!r}")
        if alpha <= 1.0:
            raise ValueError(f"alpha must be > 1 (the paper uses 2.1), got {alpha!r}")
        super().__init__(weight_map=weight_map if use_weight_map else "none", weight=weight,
                         threshold=threshold, name=name, **kwargs)
        self.omega, self.theta = float(omega), float(theta)
        self.epsilon, self.alpha = float(epsilon), float(alpha)

    @property
    def use_weight_map(self) -> bool:
        return self.weight_map != "none"

    def elementwise(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return adaptive_wing_elementwise(
            y_true, y_pred, self.omega, self.theta, self.epsilon, self.alpha
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(omega=self.omega, theta=self.theta, epsilon=self.epsilon,
                      alpha=self.alpha, use_weight_map=self.use_weight_map)
        return config


@keras.saving.register_keras_serializable(package="awing_tf")
class HeatmapMSE(_HeatmapLoss):
    """Mean squared error on heatmaps, optionally with a weight map (Table 7's MSE rows)."""

    def __init__(self, weight_map: str = "none", name: str = "heatmap_mse", **kwargs):
        super().__init__(weight_map=weight_map, name=name, **kwargs)

    def elementwise(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return tf.square(y_true - tf.cast(y_pred, tf.float32))


@keras.saving.register_keras_serializable(package="awing_tf")
class WingLoss(_HeatmapLoss):
    """Wing loss (Feng et al. 2018) applied per heatmap pixel, for comparison only.

    The paper (Sec. 4.1) reports that it does not converge for heatmap regression.
    """

    def __init__(self, omega: float = 10.0, epsilon: float = 2.0, weight_map: str = "none",
                 name: str = "wing_loss", **kwargs):
        super().__init__(weight_map=weight_map, name=name, **kwargs)
        self.omega, self.epsilon = float(omega), float(epsilon)

    def elementwise(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return wing_elementwise(y_true, y_pred, self.omega, self.epsilon)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(omega=self.omega, epsilon=self.epsilon)
        return config


def get_loss(name: str, **kwargs) -> keras.losses.Loss:
    """Loss by the training app's name: ``awing`` (AW+WM), ``awing_nomap`` (AW),
    ``awing_wmbase`` (AW+WM_base), ``mse``, ``mse_map`` (MSE+WM), ``wing``."""
    if name == "awing":
        return AdaptiveWingLoss(**kwargs)
    if name == "awing_nomap":
        return AdaptiveWingLoss(use_weight_map=False, **kwargs)
    if name == "awing_wmbase":
        return AdaptiveWingLoss(weight_map="base", **kwargs)
    if name == "mse":
        return HeatmapMSE(**kwargs)
    if name == "mse_map":
        return HeatmapMSE(weight_map="dilated", **kwargs)
    if name == "wing":
        return WingLoss(**kwargs)
    raise ValueError(f"unknown loss {name!r}; choose one of {LOSS_NAMES}")
