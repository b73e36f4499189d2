"""A learning curve that survives interruptions: evaluated every few epochs, kept in JSON."""

from __future__ import annotations

import json
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any

from absl import logging

EvaluateFn = Callable[[Any], dict[str, float]]


def make_curve_callback(evaluate_fn: EvaluateFn, every: int, epochs: int,
                        steps_per_epoch: int, path: str) -> Any:
    """A Keras callback that evaluates every ``every`` epochs (and after the last one) and
    persists ``{"points": [...], "train_seconds": s}`` to ``path`` (kept across resumes).

    Each point is ``{"epoch", "step", "train_loss", **evaluate_fn(model)}``; its
    ``save()`` writes the file, ``seconds()`` is the training time over all sessions.
    """
    import keras

    class LearningCurve(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            state = json.loads(pathlib.Path(path).read_text()) if os.path.isfile(path) else {}
            self.points: list[dict] = state.get("points", [])
            self.prior = float(state.get("train_seconds", 0.0))
            self.start = time.perf_counter()

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            done = epoch + 1
            if done % every and done != epochs:
                self.save()
                return
            point = {"epoch": done, "step": done * steps_per_epoch,
                     "train_loss": float((logs or {}).get("loss", float("nan")))}
            point.update(evaluate_fn(self.model))
            self.points = [p for p in self.points if p["epoch"] < done] + [point]
            logging.info("epoch %d: %s", done, point)
            self.save()

        def seconds(self) -> float:
            return self.prior + time.perf_counter() - self.start

        def save(self) -> None:
            tmp = path + ".tmp"
            with open(tmp, "w") as fh:
                json.dump({"points": self.points, "train_seconds": self.seconds()}, fh)
            os.replace(tmp, path)

    return LearningCurve()
