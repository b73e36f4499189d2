"""One training run: config + records -> a trained, checkpointed FaceAligner."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time

import keras
import tensorflow as tf
from absl import logging

from awing_tf import compat
from awing_tf.config import Config
from awing_tf.data.shards import count_records
from awing_tf.models.face_aligner import FaceAligner, load_aligner
from awing_tf.training import budget
from awing_tf.training.callbacks import make_callbacks
from awing_tf.training.compile import compile_for_training
from awing_tf.training.datasets import make_datasets
from awing_tf.training.distribute import is_chief, make_strategy, num_workers, worker_name
from awing_tf.training.runtime import configure_threads, resolve_precision


def _write_json(path: str, data: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)


def _plan_budget(config: Config, ledger: budget.Ledger, steps_per_epoch: int,
                 make_model, train_ds, val_ds, scratch: str, chief: bool) -> Config:
    """``config`` with the epochs that fit its time budget: the stored plan of this run, or
    a new plan from a timing probe on a throwaway copy of the model."""
    minutes = config.train.time_budget_minutes
    plan = ledger.plan_for(minutes, steps_per_epoch)
    if plan is None:
        start = time.monotonic()
        probe_callbacks = make_callbacks(scratch, chief, "loss")
        timing = budget.probe(make_model(), train_ds, val_ds, probe_callbacks)
        shutil.rmtree(scratch, ignore_errors=True)
        probe_minutes = (time.monotonic() - start) / 60.0  # counts against the budget
        epochs = budget.epochs_for_budget(minutes - probe_minutes, timing, steps_per_epoch)
        logging.info("time budget %.1f min: %.3f s/step, %.2f s per epoch end, %.1f s "
                     "validation -> %d epochs of %d steps", minutes, timing.seconds_per_step,
                     timing.epoch_overhead_seconds, timing.validation_seconds, epochs,
                     steps_per_epoch)
        ledger.start(minutes, steps_per_epoch, epochs, timing, probe_minutes)
        keras.utils.set_random_seed(config.train.seed)  # the probe drew weights too
    else:
        epochs = int(plan["epochs"])
        logging.info("time budget %.1f min: keeping the run's plan of %d epochs (%.1f min "
                     "used)", minutes, epochs, ledger.minutes_used)
    return dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))


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

    With ``config.train.time_budget_minutes`` > 0 a timing probe turns the budget into the
    number of epochs (``budget.json`` keeps the plan, and ``config.json`` the epochs, so a
    resumed run keeps the schedule) and the run stops, checkpointed, when the time is used;
    restarting a run whose budget is used loads its ``model.keras`` instead of training.

    The run sets Keras' global dtype policy to its precision and restores the caller's
    policy on return, so models built afterwards in the same process are unaffected.
    """
    previous_policy = keras.mixed_precision.global_policy()
    try:
        return _train(config, train_records, model_dir, val_records, strategy, verbose,
                      steps_per_epoch, validation_steps, callbacks)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _train(
    config: Config,
    train_records: str,
    model_dir: str,
    val_records: str | None,
    strategy: str,
    verbose: str | int,
    steps_per_epoch: int | None,
    validation_steps: int | None,
    callbacks: list[keras.callbacks.Callback] | None,
) -> tuple[FaceAligner, dict]:
    """The body of :func:`train`, run under the precision's global dtype policy."""
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
        steps_per_epoch = max(1, count_records(
            train_records, skip_bad=config.data.on_bad_record == "skip") // batch)
    chief = is_chief(dist)
    out_dir = model_dir if chief else os.path.join(model_dir, "workers_scratch",
                                                   worker_name(dist))
    os.makedirs(out_dir, exist_ok=True)
    final = os.path.join(out_dir, "model.keras")
    ledger = None
    if config.train.time_budget_minutes > 0:
        if num_workers(dist) > 1:
            raise ValueError("time_budget_minutes is for single-process runs (every worker "
                             "of a multi-worker run would time itself); give epochs instead")
        ledger = budget.Ledger(model_dir)
        if ledger.plan_for(config.train.time_budget_minutes, steps_per_epoch) \
                and ledger.finished and os.path.isfile(final):
            logging.info("this run already ended within its time budget: loading %s", final)
            return load_aligner(final), {}

    train_ds, val_ds = make_datasets(config, train_records, val_records, num_workers(dist))

    def make_model() -> FaceAligner:
        with dist.scope():
            built = FaceAligner(model_cfg)
            compile_for_training(built, config, steps_per_epoch)
        if dist is not tf.distribute.get_strategy():  # a real tf.distribute strategy
            if num_workers(dist) > 1:
                compat.average_multi_worker_logs()
            compat.build_from_element_spec(built,
                                           built.heatmap_target_spec(train_ds.element_spec))
        return built

    if ledger is not None:
        config = _plan_budget(config, ledger, steps_per_epoch, make_model, train_ds, val_ds,
                              os.path.join(out_dir, "budget_probe"), chief)
    logging.info("training %s: precision %s, %d replica(s), %d steps/epoch, %d epochs",
                 config.name, precision, replicas, steps_per_epoch, config.train.epochs)
    preview = None
    if val_ds is not None:
        preview = next(iter(val_ds.take(1)))[0].numpy()[:3]
    if chief:
        _write_json(os.path.join(model_dir, "config.json"),
                    dataclasses.replace(config, model=model_cfg).to_dict())
    model = make_model()
    monitor = "val_loss" if val_ds is not None else "loss"
    all_callbacks = make_callbacks(out_dir, chief, monitor, preview)
    if ledger is not None:
        all_callbacks.append(budget.BudgetClock(ledger, write=chief))
    history = model.fit(
        train_ds, epochs=config.train.epochs, steps_per_epoch=steps_per_epoch,
        validation_data=val_ds, validation_steps=validation_steps,
        callbacks=all_callbacks + list(callbacks or []), verbose=verbose,
    )
    partial = os.path.join(out_dir, "model.partial.keras")
    model.save(partial)
    os.replace(partial, final)
    return model, history.history
