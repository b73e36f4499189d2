"""One training run: config + records -> a trained, checkpointed FaceAligner."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import keras
import tensorflow as tf
from absl import logging

from awing_tf.callbacks import make_callbacks
from awing_tf.config import Config
from awing_tf.data.pipeline import make_dataset
from awing_tf.models.face_aligner import FaceAligner
from awing_tf.training import (
    compile_for_training,
    configure_threads,
    count_records,
    is_chief,
    make_strategy,
    num_workers,
    resolve_precision,
    worker_name,
)


def make_datasets(
    config: Config,
    train_records: str,
    val_records: str | None = None,
    workers: int = 1,
    num_stacks: int | None = None,
) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
    """The training and (optional) validation datasets of ``config`` at its global batch.

    Datasets are sharded by DATA: with ``workers`` > 1 each worker runs the same pipeline and
    keeps its slice of every global batch, so the union over the workers is exactly the
    single-process global batch; the training pipeline is then made deterministic (seeded
    shuffles, ordered parallel maps), or the workers would slice differently ordered streams.
    The validation dataset declares its number of batches, so Keras knows where an
    evaluation pass ends (without it Keras warns "Your input ran out of data" after the first
    validation pass).
    """
    batch = config.train.batch_size
    data_cfg = dataclasses.replace(config.data, batch_size=batch)
    if workers > 1:
        data_cfg = dataclasses.replace(data_cfg, deterministic=True,
                                       seed=0 if data_cfg.seed is None else data_cfg.seed)
    n = config.model.num_stacks if num_stacks is None else num_stacks
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_ds = make_dataset(train_records, data_cfg, training=True, num_stacks=n)
    train_ds = train_ds.with_options(options)
    if not val_records:
        return train_ds, None
    val_batches = math.ceil(count_records(val_records) / batch)
    val_ds = make_dataset(val_records, data_cfg, training=False, num_stacks=n, repeat=False)
    val_ds = val_ds.apply(tf.data.experimental.assert_cardinality(val_batches))
    return train_ds, val_ds.with_options(options)


def build_from_spec(model: keras.Model, element_spec: object) -> None:
    """Makes ``fit``/``evaluate`` build the model's compiled state from ``element_spec``.

    Under a distribution strategy, Keras 3's TensorFlow trainer (``_maybe_symbolic_build``,
    keras 3.15) builds the metrics, loss and optimizer state from the first batch of the
    ``fit``/``evaluate`` iterator: it takes that batch out of the stream, so training skips
    its first batch (MirroredStrategy then differs from a single-device run on the same
    data), and it averages the batch across replicas with ``strategy.reduce``, which fails
    under MultiWorkerMirroredStrategy ("Attempt to convert a value (PerReplica...) to a
    Tensor", keras-team/keras#20585). Only shapes and dtypes are needed to build, and a
    ``tf.TensorSpec`` has both, so the dataset's ``element_spec`` is used instead.
    """

    def maybe_symbolic_build(iterator: object = None, data_batch: object = None) -> None:
        del iterator  # never consumed
        with model.distribute_strategy.scope():
            model._symbolic_build(data_batch=element_spec if data_batch is None else data_batch)

    model._maybe_symbolic_build = maybe_symbolic_build


def fix_multi_worker_mean_reduction() -> None:
    """Makes Keras average losses and metrics over all workers of a multi-worker run.

    Keras 3's TensorFlow trainer (keras 3.15) reduces the per-replica step outputs under
    MultiWorkerMirroredStrategy with ``strategy.reduce("MEAN", v, axis=0)``, which fails on
    the scalar losses and metrics ("Invalid reduction dimension 0 for input with 0
    dimensions"; with ``distribute_reduction_method="sum"`` the logs would be summed over
    the replicas instead). This wraps ``reduce_per_replica`` once, process-wide, so that the
    ``auto``/``mean`` reduction of a multi-worker strategy is a plain mean over all replicas
    (``axis=None``); every other case is left to Keras.
    """
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica
    if getattr(original, "_multi_worker_mean_fixed", False):
        return

    def reduce_per_replica(values: object, strategy: tf.distribute.Strategy,
                           reduction: str) -> object:
        if reduction in ("auto", "mean") and \
                tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica._multi_worker_mean_fixed = True
    tf_trainer.reduce_per_replica = reduce_per_replica


def train(
    config: Config,
    train_records: str,
    model_dir: str,
    val_records: str | None = None,
    strategy: str = "auto",
    verbose: str | int = "auto",
    steps_per_epoch: int | None = None,
    validation_steps: int | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> tuple[FaceAligner, dict]:
    """Trains ``config`` on ``train_records`` and writes everything under ``model_dir``.

    ``model_dir`` gets ``config.json``, ``model.keras`` (final), ``best.keras``,
    ``last.keras``, ``log.csv``, ``tensorboard/`` and, while running, ``backup/`` from which an
    interrupted run resumes at its last completed epoch. ``config.train.batch_size`` is the
    global batch, split over the replicas of the strategy. In a multi-worker run only the
    chief writes there; the other workers write to ``model_dir/workers_scratch/<task>/``.
    ``callbacks`` are added to the standard ones. Returns the model and the history.
    """
    configure_threads(config.train.inter_op_threads, config.train.intra_op_threads)
    precision = resolve_precision(config.train.precision)
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(config.train.seed)
    dist = make_strategy(strategy)
    replicas = dist.num_replicas_in_sync
    model_cfg = dataclasses.replace(config.model, sync_batch_norm=replicas > 1)
    batch = config.train.batch_size
    if batch % replicas:
        raise ValueError(f"batch_size={batch} must be divisible by the {replicas} replicas")
    if steps_per_epoch is None:
        steps_per_epoch = max(1, count_records(train_records) // batch)
    logging.info("training %s: precision %s, %d replica(s), %d steps/epoch, %d epochs",
                 config.name, precision, replicas, steps_per_epoch, config.train.epochs)

    train_ds, val_ds = make_datasets(config, train_records, val_records, num_workers(dist))
    preview = None
    if val_ds is not None:
        preview = next(iter(val_ds.take(1)))[0].numpy()[:3]

    chief = is_chief(dist)
    out_dir = model_dir if chief else os.path.join(model_dir, "workers_scratch",
                                                   worker_name(dist))
    os.makedirs(out_dir, exist_ok=True)
    if chief:
        with open(os.path.join(model_dir, "config.json"), "w") as fh:
            json.dump(dataclasses.asdict(dataclasses.replace(config, model=model_cfg)), fh,
                      indent=2)
    with dist.scope():
        model = FaceAligner(model_cfg)
        compile_for_training(model, config, steps_per_epoch)
    if dist is not tf.distribute.get_strategy():  # a real tf.distribute strategy
        if num_workers(dist) > 1:
            fix_multi_worker_mean_reduction()
        build_from_spec(model, train_ds.element_spec)
    monitor = "val_loss" if val_ds is not None else "loss"
    all_callbacks = make_callbacks(out_dir, chief, monitor, preview, model_cfg.num_landmarks)
    history = model.fit(
        train_ds, epochs=config.train.epochs, steps_per_epoch=steps_per_epoch,
        validation_data=val_ds, validation_steps=validation_steps,
        callbacks=all_callbacks + list(callbacks or []), verbose=verbose,
    )
    model.save(os.path.join(out_dir, "model.keras"))
    return model, history.history
