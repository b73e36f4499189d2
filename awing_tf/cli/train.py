r"""Train a face-alignment model: ``awing-train`` (also ``python -m awing_tf.train``).

Example (the paper's 300W recipe)::

    awing-train --config=paper --train_records='data/300w_train-*' \
        --val_records='data/300w_val-*' --model_dir=runs/300w --epochs=240
"""

from __future__ import annotations

from absl import app, flags, logging

from awing_tf import config as config_lib
from awing_tf.choices import LOSS_NAMES, PRECISIONS, STRATEGIES, VERBOSITY
from awing_tf.cli import run_app
from awing_tf.config.run_config import BAD_RECORD_POLICIES

FLAGS = flags.FLAGS
flags.DEFINE_enum("config", "compact", config_lib.preset_names(), "Preset name.")
flags.DEFINE_string("scheme", "300w68", "Landmark scheme: 300w68, wflw98, cofw29, lsp14.")
flags.DEFINE_string("train_records", None, "Glob of training TFRecord shards.")
flags.DEFINE_string("val_records", None, "Glob of validation TFRecord shards (optional).")
flags.DEFINE_string("model_dir", None, "Output folder: checkpoints, logs, backup to resume.")
flags.DEFINE_integer("epochs", None, "Epochs (default: the preset's, 240 for the paper).")
flags.DEFINE_integer("batch_size", None, "Global batch size (split across replicas).")
flags.DEFINE_float("learning_rate", None, "Initial learning rate (paper: 1e-4).")
flags.DEFINE_enum("loss", "awing", list(LOSS_NAMES),
                  "awing = AW+WM, awing_nomap = AW, awing_wmbase = AW+WM_base, mse, mse_map.")
flags.DEFINE_bool("boundary", True, "Boundary heatmap channel (Table 7 'B').")
flags.DEFINE_bool("coordconv", True, "CoordConv x/y/r channels (Table 7 'C').")
flags.DEFINE_bool("boundary_coords", True, "Boundary-masked coordinates (Table 7 'CB').")
flags.DEFINE_enum("strategy", "auto", list(STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_enum("precision", "auto", list(PRECISIONS), "Keras dtype policy.")
flags.DEFINE_integer("seed", 0, "Random seed (weights and augmentation).")
flags.DEFINE_integer("steps_per_epoch", None, "Default: records // batch_size.")
flags.DEFINE_float("time_budget_minutes", None,
                   "Train for this many wall-clock minutes: a short timing probe sets the "
                   "epochs (and the learning-rate schedule on them; --epochs is then ignored), "
                   "kept in the run's budget.json and config.json so a restarted run resumes "
                   "the same schedule; training stops, checkpointed, when the time is used.")
flags.DEFINE_enum("on_bad_record", "fail", list(BAD_RECORD_POLICIES),
                  "A corrupt shard or bad record: fail (an error naming shard and record, "
                  "before training starts where the framing is broken) or skip (drop it, "
                  "logged and counted; after a framing error the rest of that shard).")
flags.DEFINE_multi_string("override", [], "Any config field, e.g. --override=data.sigma=2.")
flags.DEFINE_enum("verbose", "auto", list(VERBOSITY), "Keras verbosity: auto, 0, 1 or 2.")


def config_from_flags() -> config_lib.Config:
    """The run's config: the preset, then the flags, then every ``--override``."""
    cfg = config_lib.preset(FLAGS.config, scheme=FLAGS.scheme)
    overrides = [
        f"spec.use_boundary={FLAGS.boundary}",
        f"model.use_coordconv={FLAGS.coordconv}",
        f"model.use_boundary_coords={FLAGS.boundary_coords}",
        f"train.loss={FLAGS.loss}", f"train.precision={FLAGS.precision}",
        f"train.seed={FLAGS.seed}", f"data.seed={FLAGS.seed}",
        f"data.on_bad_record={FLAGS.on_bad_record}",
    ]
    if FLAGS.epochs is not None:
        overrides.append(f"train.epochs={FLAGS.epochs}")
    if FLAGS.batch_size is not None:
        overrides.append(f"train.batch_size={FLAGS.batch_size}")
    if FLAGS.time_budget_minutes is not None:
        overrides.append(f"train.time_budget_minutes={FLAGS.time_budget_minutes}")
    if FLAGS.learning_rate is not None:
        overrides.append(f"train.learning_rate={FLAGS.learning_rate}")
    return config_lib.apply_overrides(cfg, overrides + list(FLAGS.override))


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    for name in ("train_records", "model_dir"):
        if not getattr(FLAGS, name):
            raise app.UsageError(f"--{name} is required")
    try:
        cfg = config_from_flags()
    except (ValueError, KeyError) as err:  # a bad --override / --scheme value
        raise app.UsageError(str(err)) from err
    from awing_tf.files import find_files  # heavy imports after the flag checks

    for name in ("train_records", "val_records"):
        pattern = getattr(FLAGS, name)
        if pattern and not find_files(pattern):
            raise app.UsageError(f"--{name}={pattern!r} matches no files")
    import tensorflow as tf

    from awing_tf.data.pipeline import as_record_error
    from awing_tf.data.record_validation import shard_counts
    from awing_tf.training.loop import train

    skip = cfg.data.on_bad_record == "skip"
    steps = FLAGS.steps_per_epoch
    try:  # the framing of every shard, before the model is built
        counts = shard_counts(find_files(FLAGS.train_records), skip)
        if FLAGS.val_records:
            shard_counts(find_files(FLAGS.val_records), skip)
    except ValueError as err:
        raise app.UsageError(str(err)) from None
    if steps is None and skip and -1 not in counts:  # the good records only
        steps = max(1, sum(counts) // cfg.train.batch_size)
    verbose = FLAGS.verbose if FLAGS.verbose == "auto" else int(FLAGS.verbose)
    try:
        _, history = train(cfg, FLAGS.train_records, FLAGS.model_dir, FLAGS.val_records,
                           strategy=FLAGS.strategy, verbose=verbose, steps_per_epoch=steps)
    except (ValueError, tf.errors.OpError) as err:
        patterns = [p for p in (FLAGS.train_records, FLAGS.val_records) if p]
        named = as_record_error(err, patterns, cfg.spec.num_landmarks)
        if named is None:
            raise
        raise app.UsageError(str(named)) from None
    last = {k: round(v[-1], 5) for k, v in history.items()} if history else {}
    logging.info("finished; last epoch: %s; model in %s", last, FLAGS.model_dir)


def run() -> None:
    run_app(main, __name__)


if __name__ == "__main__":
    run()
