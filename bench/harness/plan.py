"""The training plan of a resumable benchmark: the timing probe, the epochs that fit the
budget, the evaluation interval and the learning rates, kept in ``work_dir/plan.json``.

The plan is reused while its id (budget, epoch flag, the shared run settings and what the
benchmark adds) is unchanged, so an interrupted benchmark keeps its epochs and rates.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from absl import flags, logging

from bench.harness.lr_probe import ScoreFn, probe_mse_rate
from bench.harness.results import load_json, settings_key, write_json
from bench.harness.run_config import Variant, run_config
from bench.harness.run_flags import decay_fractions
from bench.harness.timing import default_every, epochs_for_budget, timing_probe

FLAGS = flags.FLAGS
TIMING_VARIANT = Variant("awing", True, True, True)  # every module on: the slowest run
PLAN_INDENT = 1


@dataclasses.dataclass(frozen=True)
class PlanSpec:
    """What a benchmark decides about its plan.

    ``identity``: entries added to the plan's id. ``score_fn(model, records, config)``: the
    number the timing probe evaluates (stored as ``timing_metric``) and the MSE probe ranks
    rates by (``lower_is_better``; described in the plan by ``score_description``).
    ``needs_mse``: a selected row trains with an MSE loss, so without ``--mse_learning_rate``
    the probe runs (``mse_variant`` at each candidate rate); otherwise the MSE rate is
    ``no_mse_rate`` with the source ``no_mse_source``. ``timing_row``: the row name the
    timing stands for, if any.
    """

    identity: dict[str, Any]
    score_fn: ScoreFn
    timing_metric: str
    score_description: str
    lower_is_better: bool
    mse_variant: Variant
    needs_mse: bool
    no_mse_rate: float | None
    no_mse_source: str
    timing_row: str | None = None


def rate_for(plan: dict, loss: str) -> float:
    """The learning rate of a run with ``loss``: the MSE rate for MSE losses, else the AW
    rate."""
    return plan["mse_learning_rate"] if loss.startswith("mse") else plan["learning_rate"]


def run_settings(plan: dict, base: dict, row: str, lr: float, **extra: Any
                 ) -> tuple[dict, str]:
    """``(settings, settings key)`` of one row: what identifies its trained model."""
    settings = {"row": row, "epochs": plan["epochs"], "lr": lr, **extra, **base}
    return settings, settings_key(json.loads(json.dumps(settings)))


def _time_runs(plan: dict, split: dict, base: dict, work_dir: str, spec: PlanSpec) -> dict:
    cfg = run_config(variant=TIMING_VARIANT, epochs=3, learning_rate=FLAGS.learning_rate,
                     **base)
    test = split["test_records"]
    timing = timing_probe(
        cfg, split["train_records"], os.path.join(work_dir, "runs", "timing_probe"),
        FLAGS.probe_steps, lambda m: {spec.timing_metric: spec.score_fn(m, test, cfg)})
    if spec.timing_row:
        timing["row"] = spec.timing_row
    return timing


def _choose_mse_rate(plan: dict, split: dict, base: dict, work_dir: str,
                     spec: PlanSpec) -> None:
    if FLAGS.mse_learning_rate is not None:
        plan["mse_learning_rate"] = FLAGS.mse_learning_rate
        plan["mse_learning_rate_source"] = "flag"
        return
    probed = "chosen" in plan.get("mse_lr_probe", {})
    if not (spec.needs_mse or probed):
        plan["mse_learning_rate"] = spec.no_mse_rate
        plan["mse_learning_rate_source"] = spec.no_mse_source
        return
    if not probed:
        probe_mse_rate(plan, split["probe_train_records"], split["probe_val_records"],
                       split["probe_train_count"], base, work_dir,
                       [float(c) for c in FLAGS.mse_lr_candidates], FLAGS.lr_probe_minutes,
                       spec.score_fn, lower_is_better=spec.lower_is_better,
                       variant=spec.mse_variant)
        plan["mse_lr_probe"]["score"] = spec.score_description
    plan["mse_learning_rate"] = plan["mse_lr_probe"]["chosen"]
    plan["mse_learning_rate_source"] = "probe"


def training_plan(work_dir: str, split: dict, base: dict, spec: PlanSpec) -> dict:
    """Loads or makes the plan in ``work_dir/plan.json``: ``steps_per_epoch``,
    ``learning_rate``, ``timing``, ``epochs``, ``eval_every``, ``mse_learning_rate`` (and
    its source, and the probe's results when it ran). ``split`` has the ``train``, ``test``
    and ``probe_train``/``probe_val`` records and counts; ``base``: the shared settings."""
    plan_path = os.path.join(work_dir, "plan.json")
    plan = load_json(plan_path)
    plan_id = json.loads(json.dumps({"budget_minutes": FLAGS.budget_minutes,
                                     "epochs_flag": FLAGS.epochs, **spec.identity, **base}))
    if plan.get("id") != plan_id:
        plan = {"id": plan_id}
    plan["steps_per_epoch"] = FLAGS.steps_per_epoch or max(
        1, split["train_count"] // FLAGS.batch_size)
    plan["learning_rate"] = FLAGS.learning_rate
    if "timing" not in plan:
        plan["timing"] = _time_runs(plan, split, base, work_dir, spec)
        write_json(plan_path, plan, indent=PLAN_INDENT)
    logging.info("timing: %s", plan["timing"])
    plan["epochs"] = FLAGS.epochs or epochs_for_budget(FLAGS.budget_minutes, plan["timing"],
                                                       plan["steps_per_epoch"])
    plan["eval_every"] = FLAGS.eval_every or default_every(plan["epochs"])
    _choose_mse_rate(plan, split, base, work_dir, spec)
    write_json(plan_path, plan, indent=PLAN_INDENT)
    logging.info("plan: epochs %d x %d steps, eval every %d, lr AW %g, lr MSE %s",
                 plan["epochs"], plan["steps_per_epoch"], plan["eval_every"],
                 plan["learning_rate"], plan["mse_learning_rate"])
    return plan


def config_block(plan: dict) -> dict[str, Any]:
    """The ``config`` entries of a result that every planned benchmark writes: the run flags
    and the plan's epochs, rates and timing."""
    return {
        "preset": FLAGS.preset, "seed": FLAGS.seed, "batch_size": FLAGS.batch_size,
        "epochs": plan["epochs"], "steps_per_epoch": plan["steps_per_epoch"],
        "eval_every": plan["eval_every"], "budget_minutes_per_row": FLAGS.budget_minutes,
        "learning_rate_aw": plan["learning_rate"],
        "learning_rate_mse": plan["mse_learning_rate"],
        "learning_rate_mse_source": plan["mse_learning_rate_source"],
        "mse_lr_probe": plan.get("mse_lr_probe"),
        "lr_decay_fractions": list(decay_fractions()),
        "lr_decay_factor": FLAGS.lr_decay_factor, "precision": FLAGS.precision, "overrides": list(FLAGS.override),
        "timing_probe": plan["timing"], "model_selection": "none (last epoch)",
    }
