"""How long a run's steps take, and how many epochs fit a time budget."""

from __future__ import annotations

import dataclasses
import math
import shutil
import time
from typing import TYPE_CHECKING

import numpy as np

from bench.harness.learning_curve import EvaluateFn

if TYPE_CHECKING:
    from awing_tf.config import Config

PROBE_EPOCHS = 3  # the first epoch (graph building) is not counted


def timing_probe(config: Config, train_records: str, run_dir: str, probe_steps: int,
                 evaluate_fn: EvaluateFn) -> dict[str, float]:
    """Seconds per training step, per-epoch callback overhead and one evaluation pass of
    ``config``, from 3 short epochs of ``probe_steps`` steps in ``run_dir`` (removed
    afterwards)."""
    import keras

    from awing_tf.training.loop import train

    marks: dict[str, list[float]] = {"epoch_begin": [], "batch": [], "epoch_end": []}

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            marks["epoch_begin"].append(time.perf_counter())

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            marks["batch"].append(time.perf_counter())

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            marks["epoch_end"].append(time.perf_counter())

    shutil.rmtree(run_dir, ignore_errors=True)
    cfg = dataclasses.replace(config, train=dataclasses.replace(config.train,
                                                                epochs=PROBE_EPOCHS))
    model, _ = train(cfg, train_records, run_dir, verbose=0, steps_per_epoch=probe_steps,
                     callbacks=[Clock()])
    batches = np.asarray(marks["batch"]).reshape(PROBE_EPOCHS, probe_steps)
    if probe_steps > 1:
        step = float(np.median(np.diff(batches[1:], axis=1)))
    else:
        step = float(np.median(batches[1:, 0] - np.asarray(marks["epoch_begin"][1:])))
    overhead = float(np.median(np.asarray(marks["epoch_end"][1:]) - batches[1:, -1]))
    start = time.perf_counter()
    evaluate_fn(model)
    eval_seconds = time.perf_counter() - start
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"seconds_per_step": step, "epoch_overhead_seconds": overhead,
            "eval_seconds": eval_seconds, "steps_per_second": 1.0 / step}


def epochs_for_budget(minutes: float, timing: dict[str, float], steps_per_epoch: int,
                      curve_points: int = 20, fixed_seconds: float = 60.0) -> int:
    """Epochs whose training, per-epoch overhead and ~``curve_points`` evaluations fit in
    ``minutes`` (``fixed_seconds`` for start-up); at least 1."""
    seconds = minutes * 60.0 - fixed_seconds - curve_points * timing["eval_seconds"]
    per_epoch = steps_per_epoch * timing["seconds_per_step"] + timing["epoch_overhead_seconds"]
    return max(1, int(seconds // per_epoch))


def default_every(epochs: int, points: int = 20) -> int:
    """Epochs between learning-curve points for about ``points`` points."""
    return max(1, math.ceil(epochs / points))
