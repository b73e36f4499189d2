"""Training the models the export benchmark measures: a preset for a time budget.

AWing loss with the weight map on every stack, RMSProp at a constant rate, the training
pipeline's augmentation and ``--precision=auto``'s policy, through the library's training
loop (``awing_tf.training.loop.train``) with a ``TimeBudget`` that stops it at the end of
the batch in which the budget runs out.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from typing import TYPE_CHECKING

from absl import logging

from bench.harness.results import write_json

if TYPE_CHECKING:
    from awing_tf.config import Config

STEPS_PER_EPOCH = 20
UNBOUNDED_EPOCHS = 100_000  # the time budget ends the run


def budget_config(preset_name: str, batch_size: int, learning_rate: float) -> Config:
    """The preset's Config with ``batch_size``, a constant ``learning_rate`` and as many
    epochs as the time budget allows."""
    from awing_tf.config import preset

    cfg = preset(preset_name)
    return dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, batch_size=batch_size, learning_rate=learning_rate,
        lr_decay_fractions=(), epochs=UNBOUNDED_EPOCHS, precision="auto"))


def train_for_minutes(preset_name: str, records: str, minutes: float, save_path: str,
                      batch_size: int = 16, learning_rate: float = 2.5e-4) -> dict:
    """Trains a ``preset_name`` FaceAligner on ``records`` for ``minutes``; saves it at
    ``save_path`` (``.keras``) and a summary beside it (``save_path + ".train.json"``).

    The run's folder (checkpoints, logs) is a temporary one, removed afterwards. Returns the
    summary: preset, params, seconds, epochs, steps, batch, rate, precision, final loss.
    """
    from awing_tf.training.callbacks import TimeBudget
    from awing_tf.training.loop import train
    from awing_tf.training.runtime import resolve_precision

    cfg = budget_config(preset_name, batch_size, learning_rate)
    run_dir = tempfile.mkdtemp(prefix=f"bench_train_{preset_name}_")
    try:
        start = time.perf_counter()
        model, history = train(cfg, records, run_dir, verbose=2,
                               steps_per_epoch=STEPS_PER_EPOCH,
                               callbacks=[TimeBudget(minutes, per_batch=True)])
        seconds = time.perf_counter() - start
        os.makedirs(os.path.dirname(os.path.abspath(save_path)), exist_ok=True)
        shutil.copyfile(os.path.join(run_dir, "model.keras"), save_path)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    epochs = len(history["loss"])
    summary = {"preset": preset_name, "params": int(model.count_params()),
               "train_seconds": round(seconds, 1), "epochs": epochs,
               "steps": epochs * STEPS_PER_EPOCH, "batch_size": batch_size,
               "learning_rate": learning_rate, "precision": resolve_precision("auto"),
               "records": records, "final_loss": float(history["loss"][-1])}
    logging.info("trained: %s", summary)
    write_json(save_path + ".train.json", summary)
    return summary
