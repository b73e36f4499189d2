"""One training run: config + records -> a trained, checkpointed FaceAligner."""

from __future__ import annotations

import dataclasses
import json
import os

import keras
import tensorflow as tf
from absl import logging

from awing_tf import compat
from awing_tf.config import Config
from awing_tf.data.shards import count_records
from awing_tf.models.face_aligner import FaceAligner
from awing_tf.training.callbacks import make_callbacks
from awing_tf.training.compile import compile_for_training
from awing_tf.training.datasets import make_datasets
from awing_tf.training.distribute import is_chief, make_strategy, num_workers, worker_name
from awing_tf.training.runtime import configure_threads, resolve_precision


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
            json.dump(dataclasses.replace(config, model=model_cfg).to_dict(), fh, indent=2)
    with dist.scope():
        model = FaceAligner(model_cfg)
        compile_for_training(model, config, steps_per_epoch)
    if dist is not tf.distribute.get_strategy():  # a real tf.distribute strategy
        if num_workers(dist) > 1:
            compat.average_multi_worker_logs()
        compat.build_from_element_spec(model, train_ds.element_spec)
    monitor = "val_loss" if val_ds is not None else "loss"
    all_callbacks = make_callbacks(out_dir, chief, monitor, preview)
    history = model.fit(
        train_ds, epochs=config.train.epochs, steps_per_epoch=steps_per_epoch,
        validation_data=val_ds, validation_steps=validation_steps,
        callbacks=all_callbacks + list(callbacks or []), verbose=verbose,
    )
    model.save(os.path.join(out_dir, "model.keras"))
    return model, history.history
