"""The training-plan flags shared by ``bench.ablation`` and ``bench.pose``, and the settings
every run of one benchmark has in common."""

from __future__ import annotations

from typing import Any

from absl import flags

FLAGS = flags.FLAGS


def define_run_flags() -> None:
    """Budget, preset, epochs, rates and precision of the training runs."""
    flags.DEFINE_float("budget_minutes", 30.0, "Training budget per row (sets the epochs).")
    flags.DEFINE_string("preset", "compact", "Model/data preset (config.preset).")
    flags.DEFINE_integer("epochs", None, "Epochs per row (default: from the timing probe).")
    flags.DEFINE_integer("steps_per_epoch", None, "Default: training images // batch.")
    flags.DEFINE_integer("eval_every", None, "Epochs between val-curve points (default ~20).")
    flags.DEFINE_integer("seed", 0, "Seed of weights and augmentation.")
    flags.DEFINE_integer("batch_size", 16, "Batch size.")
    flags.DEFINE_float("learning_rate", 2.5e-4, "RMSProp rate of the AW rows.")
    flags.DEFINE_float("mse_learning_rate", None,
                       "RMSProp rate of the MSE rows (default: chosen by the probe).")
    flags.DEFINE_list("mse_lr_candidates", ["2.5e-4", "1e-3", "2.5e-3"],
                      "Rates the MSE probe tries.")
    flags.DEFINE_float("lr_probe_minutes", 5.0, "Training time per probed rate.")
    flags.DEFINE_list("lr_decay_fractions", ["0.75"],
                      "Fractions of the epochs where the rate is multiplied by the factor "
                      "(empty = constant).")
    flags.DEFINE_float("lr_decay_factor", 0.1, "Learning-rate decay factor.")
    flags.DEFINE_string("precision", "auto", "Keras dtype policy (auto: bf16 where native).")
    flags.DEFINE_integer("probe_steps", 6, "Steps per epoch of the timing probe (3 epochs).")
    flags.DEFINE_multi_string("override", [], "Extra config overrides for every row.")


def decay_fractions() -> tuple[float, ...]:
    """``--lr_decay_fractions`` as numbers."""
    return tuple(float(f) for f in FLAGS.lr_decay_fractions if f.strip())


def base_settings(scheme: str) -> dict[str, Any]:
    """The settings all runs of a benchmark share (the keyword arguments of
    ``run_config.run_config`` besides the variant, epochs and rate; also part of every run's
    settings key)."""
    return dict(preset=FLAGS.preset, scheme=scheme, seed=FLAGS.seed,
                batch_size=FLAGS.batch_size, precision=FLAGS.precision,
                decay_fractions=decay_fractions(), decay_factor=FLAGS.lr_decay_factor,
                overrides=tuple(FLAGS.override))
