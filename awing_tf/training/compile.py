"""Optimiser, learning-rate schedule and ``compile`` for training (paper Sec. 7.3)."""

from __future__ import annotations

import keras

from awing_tf.codec import HeatmapCodec
from awing_tf.config import Config
from awing_tf.losses import get_loss
from awing_tf.training.nme_metric import NormalizedMeanError


def learning_rate_schedule(
    config: Config, steps_per_epoch: int
) -> keras.optimizers.schedules.LearningRateSchedule | float:
    """Piecewise-constant: ``lr``, then x``lr_decay_factor`` at each fraction of the epochs.

    The paper: 1e-4, 1e-5 after 80 and 1e-6 after 160 of 240 epochs.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    t = config.train
    boundaries = [max(1, int(round(f * t.epochs))) * steps_per_epoch
                  for f in t.lr_decay_fractions]
    values = [t.learning_rate * t.lr_decay_factor**i for i in range(len(boundaries) + 1)]
    if not boundaries:
        return t.learning_rate  # no decay steps: a constant rate
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def make_optimizer(config: Config, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """RMSProp with momentum 0 and weight decay (paper), PyTorch's rho/epsilon defaults;
    with ``ema_momentum`` > 0 an exponential moving average of the weights, which replaces
    them when ``fit`` ends."""
    t = config.train
    if not 0.0 <= t.ema_momentum < 1.0:
        raise ValueError(f"ema_momentum must be in [0, 1), got {t.ema_momentum!r}")
    return keras.optimizers.RMSprop(
        learning_rate=learning_rate_schedule(config, steps_per_epoch),
        rho=0.99,
        momentum=t.momentum,
        epsilon=1e-8,
        weight_decay=t.weight_decay or None,
        use_ema=t.ema_momentum > 0,
        ema_momentum=t.ema_momentum or 0.99,
    )


def make_loss(config: Config, name: str | None = None) -> keras.losses.Loss:
    """The heatmap loss ``name`` (default ``config.train.loss``) with the AWing and weight-map
    parameters of ``config.train``."""
    t = config.train
    name = name or t.loss
    kwargs: dict = {"weight": t.weight_map_weight, "threshold": t.weight_map_threshold}
    if name.startswith("awing"):
        kwargs.update(omega=t.awing_omega, theta=t.awing_theta, epsilon=t.awing_epsilon,
                      alpha=t.awing_alpha)
    return get_loss(name, **kwargs)


def compile_for_training(
    model: keras.Model,
    config: Config,
    steps_per_epoch: int,
    loss: str | keras.losses.Loss | None = None,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """Compiles ``model`` with one loss per stack output (intermediate supervision) and the
    NME metric on the last stack. XLA stays off: it measured slower on CPU here.

    A :class:`~awing_tf.models.face_aligner.FaceAligner` gets the run's target codec (the
    data sigmas of ``config``), with which its training step encodes landmark targets."""
    if hasattr(model, "target_codec"):
        model.target_codec = HeatmapCodec.for_config(config)
    num_outputs = len(model.outputs)
    loss_obj = loss if isinstance(loss, keras.losses.Loss) else make_loss(config, loss)
    metrics = [[] for _ in range(num_outputs - 1)]
    metrics.append([NormalizedMeanError(scheme=config.model.scheme)])
    model.compile(
        optimizer=optimizer or make_optimizer(config, steps_per_epoch),
        loss=[loss_obj] * num_outputs,
        metrics=metrics,
        jit_compile=False,
    )
    return model
