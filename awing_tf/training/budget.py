"""A wall-clock training budget turned into a schedule: a short timing probe sets the number
of epochs, which the run's files keep, so a resumed run follows the same schedule.

``budget.json`` in the run folder records the budget, the probe's timings, the epochs they
gave and the minutes used so far, the probe's included (updated after every epoch and when
the run stops).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any

import keras
import numpy as np
from absl import logging

BUDGET_FILE = "budget.json"
PROBE_EPOCHS = 3  # the first, with graph tracing, is not counted
PROBE_STEPS = 8
# seconds kept free beyond the measured graph tracing: building the model, the final save
FIXED_SECONDS = 15.0


@dataclasses.dataclass(frozen=True)
class StepTiming:
    """What one probe measured, in seconds."""

    seconds_per_step: float
    epoch_overhead_seconds: float  # callbacks at an epoch's end: checkpoints, logs
    validation_seconds: float  # one validation pass (0 without validation data)
    tracing_seconds: float = 0.0  # the first epoch's extra time (graph tracing), paid again


def epochs_for_budget(minutes: float, timing: StepTiming, steps_per_epoch: int) -> int:
    """How many epochs of ``steps_per_epoch`` steps, with their per-epoch overhead and
    validation, fit in ``minutes`` after the run's graph tracing and :data:`FIXED_SECONDS`;
    at least 1."""
    per_epoch = (steps_per_epoch * timing.seconds_per_step + timing.epoch_overhead_seconds
                 + timing.validation_seconds)
    free = minutes * 60.0 - FIXED_SECONDS - timing.tracing_seconds
    return max(1, int(free // per_epoch))


class _Clock(keras.callbacks.Callback):
    """Times of every batch end and epoch end (and epoch begin) of one ``fit``."""

    def __init__(self) -> None:
        super().__init__()
        self.begin: list[float] = []
        self.batch: list[float] = []
        self.end: list[float] = []

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.begin.append(time.perf_counter())

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self.batch.append(time.perf_counter())

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.end.append(time.perf_counter())


def probe(model: keras.Model, train_ds: Any, val_ds: Any,
          callbacks: list[keras.callbacks.Callback],
          steps: int = PROBE_STEPS) -> StepTiming:
    """Times ``model`` (compiled, not needed afterwards) on :data:`PROBE_EPOCHS` epochs of
    ``steps`` steps with the run's own ``callbacks`` writing to a scratch folder; the median
    over the epochs after the first (graph tracing) is kept. ``val_ds``, if given, is timed
    with one ``evaluate`` pass after a warm-up pass."""
    clock = _Clock()
    model.fit(train_ds, epochs=PROBE_EPOCHS, steps_per_epoch=steps, verbose=0,
              callbacks=[*callbacks, clock])
    batch = np.asarray(clock.batch).reshape(PROBE_EPOCHS, steps)[1:]
    if steps > 1:
        step = float(np.median(np.diff(batch, axis=1)))
    else:
        step = float(np.median(batch[:, 0] - np.asarray(clock.begin[1:])))
    overhead = float(np.median(np.asarray(clock.end[1:]) - batch[:, -1]))
    first_epoch = clock.end[0] - clock.begin[0]
    tracing = max(0.0, first_epoch - steps * step - overhead)
    validation = 0.0
    if val_ds is not None:
        model.evaluate(val_ds, verbose=0)
        start = time.perf_counter()
        model.evaluate(val_ds, verbose=0)
        validation = time.perf_counter() - start
    return StepTiming(step, max(0.0, overhead), validation, tracing)


class Ledger:
    """``budget.json`` of a run: the plan and the minutes used so far.

    Written to a temporary name and renamed, so a reader never sees half a file.
    """

    def __init__(self, model_dir: str):
        self.path = os.path.join(model_dir, BUDGET_FILE)
        self.data: dict[str, Any] = {}
        if os.path.isfile(self.path):
            with open(self.path) as fh:
                try:
                    self.data = json.load(fh)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{self.path}: not valid JSON ({err}); delete it to "
                                     "plan the budget again") from None

    def plan_for(self, budget_minutes: float, steps_per_epoch: int) -> dict | None:
        """The stored plan if it was made for this budget and epoch length, else None."""
        if (self.data.get("budget_minutes") == budget_minutes
                and self.data.get("steps_per_epoch") == steps_per_epoch
                and "epochs" in self.data):
            return self.data
        return None

    def start(self, budget_minutes: float, steps_per_epoch: int, epochs: int,
              timing: StepTiming, minutes_used: float = 0.0) -> None:
        """A new plan; ``minutes_used`` so far (the probe's own time)."""
        self.data = {"budget_minutes": budget_minutes, "steps_per_epoch": steps_per_epoch,
                     "epochs": epochs, "probe": dataclasses.asdict(timing),
                     "minutes_used": round(minutes_used, 3), "epochs_done": 0, "stopped_by_budget": False,
                     "finished": False}
        self.save()

    @property
    def finished(self) -> bool:
        """Whether the planned run ended (all epochs trained, or stopped by the budget)."""
        return bool(self.data.get("finished", False))

    @property
    def minutes_used(self) -> float:
        return float(self.data.get("minutes_used", 0.0))

    @property
    def minutes_left(self) -> float:
        return float(self.data["budget_minutes"]) - self.minutes_used

    def save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(self.data, fh, indent=2)
        os.replace(tmp, self.path)


class BudgetClock(keras.callbacks.Callback):
    """Adds the minutes of this ``fit`` to the ledger after every epoch and stops training
    at the end of the batch during which the budget runs out (the epoch then ends as
    usual, so its checkpoints are written)."""

    def __init__(self, ledger: Ledger, write: bool = True):
        super().__init__()
        self.ledger = ledger
        self.write = write
        self.used_before = ledger.minutes_used
        self.start = time.monotonic()

    def _minutes(self) -> float:
        return self.used_before + (time.monotonic() - self.start) / 60.0

    def on_train_begin(self, logs=None) -> None:
        self.used_before = self.ledger.minutes_used
        self.start = time.monotonic()

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        if self._minutes() >= float(self.ledger.data["budget_minutes"]):
            if not self.model.stop_training:
                logging.info("time budget of %.1f minutes used: stopping after this epoch",
                             self.ledger.data["budget_minutes"])
            self.model.stop_training = True
            self.ledger.data["stopped_by_budget"] = True

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.ledger.data["minutes_used"] = round(self._minutes(), 3)
        self.ledger.data["epochs_done"] = epoch + 1
        if self.write:
            self.ledger.save()

    def on_train_end(self, logs=None) -> None:
        self.ledger.data["minutes_used"] = round(self._minutes(), 3)
        self.ledger.data["finished"] = True
        if self.write:
            self.ledger.save()
