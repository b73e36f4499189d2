"""The MSE learning-rate probe: short runs at candidate rates on a split of the training
data, the best score wins."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from absl import logging

from bench.harness.run_config import Variant, run_config
from bench.harness.timing import epochs_for_budget
from bench.harness.training_run import train_run

if TYPE_CHECKING:
    from awing_tf.config import Config

ScoreFn = Callable[[Any, str, Any], float]  # (model, records, config) -> score
PLAIN_MSE = Variant("mse", False, False, False)


def probe_mse_rate(plan: dict, train_records: str, val_records: str, train_count: int,
                   base: dict, work_dir: str, candidates: list[float], minutes: float,
                   score_fn: ScoreFn, lower_is_better: bool = True,
                   variant: Variant = PLAIN_MSE) -> dict:
    """Trains ``variant`` at each candidate rate for ``minutes`` on ``train_records`` and
    scores it on ``val_records`` (both from the TRAINING data); the best score wins.

    Needs ``plan["timing"]``; fills ``plan["mse_lr_probe"]`` (results per rate, epochs,
    ``chosen``) and returns ``plan``. Rates already in the plan are not run again.
    """
    probe = plan.setdefault("mse_lr_probe", {})
    results = probe.setdefault("results", {})
    steps = max(1, train_count // base["batch_size"])
    epochs = epochs_for_budget(minutes, plan["timing"], steps, curve_points=1, fixed_seconds=30)
    probe.update(epochs=epochs, steps_per_epoch=steps, minutes_each=minutes,
                 train_records=train_records, val_records=val_records)
    for lr in candidates:
        key = f"{lr:g}"
        if key in results:
            continue
        cfg = run_config(variant=variant, epochs=epochs, learning_rate=lr, **base)
        run_dir = os.path.join(work_dir, "runs", f"probe_mse_lr{key}")

        def evaluate_fn(model: Any, cfg: Config = cfg) -> dict[str, float]:
            return {"score": float(score_fn(model, val_records, cfg))}

        _, info = train_run(cfg, train_records, run_dir, steps, evaluate_fn, epochs,
                            {"probe": key, "epochs": epochs, "spec": list(variant), **base})
        curve = info["val_curve"]
        results[key] = {"score": curve[-1]["score"] if curve else float("nan"),
                        "minutes": info["train_minutes"]}
        logging.info("MSE probe lr %s: %s", key, results[key])
    finite = {k: v["score"] for k, v in results.items() if math.isfinite(v["score"])}
    pick = min if lower_is_better else max
    best = pick(finite, key=finite.get) if finite else f"{candidates[0]:g}"
    probe["chosen"] = float(best)
    return plan
