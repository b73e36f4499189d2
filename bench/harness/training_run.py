"""One resumable benchmark training run with its learning curve."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
from typing import TYPE_CHECKING

from absl import logging

from bench.harness.learning_curve import EvaluateFn, make_curve_callback
from bench.harness.results import load_json

if TYPE_CHECKING:
    from awing_tf.config import Config
    from awing_tf.models.face_aligner import FaceAligner


def prepare_run_dir(run_dir: str, settings: dict) -> None:
    """Creates ``run_dir`` stamped with ``settings``; a folder stamped with other settings
    (or none) is wiped first, so a run never resumes from another run's state."""
    stamp = os.path.join(run_dir, "settings.json")
    text = json.dumps(settings, sort_keys=True)
    if os.path.isdir(run_dir) and (not os.path.isfile(stamp)
                                   or pathlib.Path(stamp).read_text() != text):
        logging.info("settings changed: starting %s afresh", run_dir)
        shutil.rmtree(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    pathlib.Path(stamp).write_text(text)


def train_run(config: Config, train_records: str, run_dir: str, steps_per_epoch: int,
              evaluate_fn: EvaluateFn, every: int, settings: dict) -> tuple[FaceAligner, dict]:
    """Trains (or resumes, or reloads) one run in ``run_dir``; returns the model and
    ``{"val_curve", "train_minutes", "resumed"}``.

    ``settings`` identify the run: a ``run_dir`` holding different settings is wiped first.
    A run whose ``model.keras`` exists is loaded, not trained again; an interrupted one
    resumes at its last completed epoch (the training loop's BackupAndRestore).
    """
    from awing_tf.models.loading import load_model
    from awing_tf.training.loop import train

    prepare_run_dir(run_dir, settings)
    curve_path = os.path.join(run_dir, "curve.json")
    final = os.path.join(run_dir, "model.keras")
    resumed = os.path.isdir(os.path.join(run_dir, "backup"))
    if os.path.isfile(final):
        model = load_model(final)
    else:
        curve = make_curve_callback(evaluate_fn, every, config.train.epochs, steps_per_epoch,
                                    curve_path)
        model, _ = train(config, train_records, run_dir, verbose=2,
                         steps_per_epoch=steps_per_epoch, callbacks=[curve])
        curve.save()
    state = load_json(curve_path)
    return model, {"val_curve": state.get("points", []),
                   "train_minutes": round(state.get("train_seconds", 0.0) / 60.0, 2),
                   "resumed": resumed}
