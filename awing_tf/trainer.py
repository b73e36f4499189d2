"""One training run: config + records -> a trained, checkpointed FaceAligner."""

from __future__ import annotations

import dataclasses
import json
import os

import keras
from absl import logging

from awing_tf.callbacks import make_callbacks
from awing_tf.config import Config
from awing_tf.data.pipeline import make_dataset
from awing_tf.models.face_aligner import FaceAligner
from awing_tf.training import (
    compile_for_training,
    count_records,
    is_chief,
    make_strategy,
    resolve_precision,
)


def train(
    config: Config,
    train_records: str,
    model_dir: str,
    val_records: str | None = None,
    strategy: str = "auto",
    verbose: str | int = "auto",
    steps_per_epoch: int | None = None,
    validation_steps: int | None = None,
) -> tuple[FaceAligner, dict]:
    """Trains ``config`` on ``train_records`` and writes everything under ``model_dir``.

    ``model_dir`` gets ``config.json``, ``model.keras`` (final), ``best.keras``,
    ``last.keras``, ``log.csv``, ``tensorboard/`` and, while running, ``backup/`` from which an
    interrupted run resumes at its last completed epoch. ``config.train.batch_size`` is the
    global batch, split over the replicas of the strategy. Returns the model and the history.
    """
    precision = resolve_precision(config.train.precision)
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(config.train.seed)
    dist = make_strategy(strategy)
    replicas = dist.num_replicas_in_sync
    model_cfg = dataclasses.replace(config.model, sync_batch_norm=replicas > 1)
    batch = config.train.batch_size
    if batch % replicas:
        raise ValueError(f"batch_size={batch} must be divisible by the {replicas} replicas")
    data_cfg = dataclasses.replace(config.data, batch_size=batch)
    if steps_per_epoch is None:
        steps_per_epoch = max(1, count_records(train_records) // batch)
    logging.info("training %s: precision %s, %d replica(s), %d steps/epoch, %d epochs",
                 config.name, precision, replicas, steps_per_epoch, config.train.epochs)

    n = model_cfg.num_stacks
    train_ds = make_dataset(train_records, data_cfg, training=True, num_stacks=n)
    val_ds = None
    preview = None
    if val_records:
        val_ds = make_dataset(val_records, data_cfg, training=False, num_stacks=n)
        preview = next(iter(val_ds.take(1)))[0].numpy()[:3]

    chief = is_chief(dist)
    os.makedirs(model_dir, exist_ok=True)
    if chief:
        with open(os.path.join(model_dir, "config.json"), "w") as fh:
            json.dump(dataclasses.asdict(dataclasses.replace(config, model=model_cfg)), fh,
                      indent=2)
    with dist.scope():
        model = FaceAligner(model_cfg)
        compile_for_training(model, config, steps_per_epoch)
    monitor = "val_loss" if val_ds is not None else "loss"
    callbacks = make_callbacks(model_dir, chief, monitor, preview, model_cfg.num_landmarks)
    history = model.fit(
        train_ds, epochs=config.train.epochs, steps_per_epoch=steps_per_epoch,
        validation_data=val_ds, validation_steps=validation_steps, callbacks=callbacks,
        verbose=verbose,
    )
    final = os.path.join(model_dir if chief else os.path.join(model_dir, "workers_scratch"),
                         "model.keras")
    os.makedirs(os.path.dirname(final), exist_ok=True)
    model.save(final)
    return model, history.history
