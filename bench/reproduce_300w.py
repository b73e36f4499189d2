r"""The 300W protocol at CPU scale: train within a wall-clock budget, test on 300W sets.

    python -m bench.reproduce_300w --train_records='records/300w_train-*' \
        --model_dir=runs/300w --budget_minutes=60 \
        --test_records=common='records/300w_common-*' --out=bench/results/300w.json

Trains the project's best recipe for a 2-core CPU (``RECIPE`` below; ``--config`` and
``--override`` change it) through ``awing_tf.training.loop.train`` with
``train.time_budget_minutes``: a timing probe turns the budget into epochs and the
learning-rate schedule runs on them; restarted with the same command, the run resumes with
the same plan, and a finished run is only evaluated again. Each test set is evaluated with
the recipe's decoding (inter-ocular and inter-pupil NME, FR and AUC at 8 % and 10 %, mean
and median, per-face NMEs). The JSON records the training (epochs, steps, minutes, the CPU,
the load average, every setting) and, when ``--dlib_results`` names one, dlib's figures on
the same faces (``bench/dlib_reference.py``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any

from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_string("train_records", None, "Glob of training TFRecords (300W training faces).")
flags.DEFINE_string("model_dir", None, "The run folder (checkpoints, budget.json; resumable).")
flags.DEFINE_float("budget_minutes", None, "Wall-clock training budget in minutes.")
flags.DEFINE_multi_string("test_records", [], "NAME=GLOB of a test set (repeatable).")
flags.DEFINE_string("out", "bench/results/300w.json", "Where to write the results JSON.")
flags.DEFINE_string("config", None, "Preset (default: the recipe's).")
flags.DEFINE_multi_string("override", [], "Config overrides applied after the recipe's.")
flags.DEFINE_string("decode", None, "quarter_offset or subpixel (default: the recipe's).")
flags.DEFINE_bool("flip_test", None, "Test-time flip averaging (default: the recipe's).")
flags.DEFINE_integer("curve_every", 0,
                     "Every N epochs, evaluate the first test set (plain decode, no flip) for "
                     "the learning curve in the JSON; its time counts against the budget.")
flags.DEFINE_string("dlib_results", None,
                    "bench/dlib_reference.py's JSON on the same test faces, to include.")
flags.mark_flags_as_required(["train_records", "model_dir", "budget_minutes"])

# The best recipe measured for a 2-core CPU (BUILD_NOTES.md, "300W at CPU scale").
RECIPE: dict[str, Any] = {
    "config": "compact",
    "overrides": [
        "train.batch_size=8",
        "train.learning_rate=1e-3",
        "train.lr_decay_fractions=0.75",
        "data.crop_margin=0.25",
        "data.rotation_degrees=30",
        "data.occlusion_probability=0.1",
    ],
    "decode": "subpixel",
    "flip_test": True,
}
# The paper's 300W figures (Table 2, inter-ocular NME %, 4 stacks at 256 px, 3,148 faces).
PAPER = {"common": 2.72, "challenge": 4.52, "full": 3.07}


def recipe_config(budget_minutes: float, config: str | None = None,
                  overrides: list[str] | tuple[str, ...] = ()) -> Any:
    """The recipe's Config for ``budget_minutes``, with ``overrides`` applied last."""
    from awing_tf import config as config_lib

    cfg = config_lib.preset(config or RECIPE["config"], scheme="300w68")
    items = [*RECIPE["overrides"], f"train.time_budget_minutes={budget_minutes}", *overrides]
    cfg = config_lib.apply_overrides(cfg, items)
    return dataclasses.replace(cfg, name="300w_recipe")


def parse_tests(items: list[str]) -> dict[str, str]:
    """``["NAME=GLOB", ...]`` -> ``{NAME: GLOB}``; ValueError naming a malformed item."""
    tests = {}
    for item in items:
        name, sep, pattern = item.partition("=")
        if not sep or not name or not pattern:
            raise ValueError(f"--test_records {item!r}: expected NAME=GLOB")
        tests[name] = pattern
    return tests


def test_metrics(model: Any, records: str, config: Any, decode: str, flip: bool) -> dict:
    """NME inter-ocular / inter-pupil (mean and median, %), FR and AUC at 8 % and 10 %
    (inter-ocular) and the per-face inter-ocular NMEs of ``model`` on ``records``."""
    import numpy as np

    from awing_tf.evaluation import build_report, predict_records

    pred = predict_records(model, records, config, decode=decode, flip_test=flip)
    io = build_report(pred, "300w68", "inter_ocular")
    ip = build_report(pred, "300w68", "inter_pupil")
    return {
        "count": io["count"],
        "nme_io": round(io["nme"], 4), "median_nme_io": round(float(np.median(io["nmes"])) * 100, 4),
        "nme_ip": round(ip["nme"], 4), "median_nme_ip": round(float(np.median(ip["nmes"])) * 100, 4),
        "fr_8": round(io["fr_8"], 4), "fr_10": round(io["fr_10"], 4),
        "auc_8": round(io["auc_8"], 5), "auc_10": round(io["auc_10"], 5),
        "per_face": [{"source_id": r["source_id"], "nme_io": round(r["nme"], 4)}
                     for r in io["per_image"]],
    }


def curve_callback(records: str, config: Any, every: int, path: str) -> Any:
    """A callback evaluating ``records`` after every ``every`` epochs and the last one
    (quarter-offset decode, no flip: the cheapest pass) into the learning curve at ``path``;
    a resumed run keeps the points it had."""
    import keras

    from bench.harness.evaluation import nme_io
    from bench.harness.results import load_json, write_json

    class LearningCurve(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.points = load_json(path).get("points", [])

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            done = epoch + 1
            if done % every and done != self.params["epochs"]:
                return
            point = {"epoch": done, "step": done * self.params["steps"],
                     "train_loss": round(float((logs or {}).get("loss", float("nan"))), 5),
                     "nme_io": nme_io(self.model, records, config)}
            self.points = [p for p in self.points if p["epoch"] < done] + [point]
            write_json(path, {"points": self.points})
            logging.info("learning curve: %s", point)

    return LearningCurve()


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from awing_tf.files import find_files

    try:
        tests = parse_tests(FLAGS.test_records)
        if FLAGS.budget_minutes <= 0:
            raise ValueError(f"--budget_minutes must be > 0, got {FLAGS.budget_minutes}")
        for flag, pattern in [("train_records", FLAGS.train_records), *tests.items()]:
            if not find_files(pattern):
                raise ValueError(f"--{flag} {pattern!r} matches no files")
        if FLAGS.dlib_results and not os.path.isfile(FLAGS.dlib_results):
            raise ValueError(f"--dlib_results {FLAGS.dlib_results!r}: no such file")
        cfg = recipe_config(FLAGS.budget_minutes, FLAGS.config, FLAGS.override)
    except ValueError as err:
        raise app.UsageError(str(err)) from None

    from awing_tf.config import Config
    from awing_tf.models.face_aligner import load_aligner
    from awing_tf.training import budget
    from awing_tf.training.loop import train
    from bench.harness.machine import machine_info
    from bench.harness.results import write_json

    machine = machine_info()
    decode = FLAGS.decode or RECIPE["decode"]
    flip = RECIPE["flip_test"] if FLAGS.flip_test is None else FLAGS.flip_test
    callbacks = []
    curve_path = os.path.join(FLAGS.model_dir, "curve.json")
    if FLAGS.curve_every > 0 and tests:
        callbacks.append(curve_callback(next(iter(tests.values())), cfg, FLAGS.curve_every,
                                        curve_path))
    train(cfg, FLAGS.train_records, FLAGS.model_dir, verbose=2, callbacks=callbacks)
    model = load_aligner(os.path.join(FLAGS.model_dir, "model.keras"))
    with open(os.path.join(FLAGS.model_dir, "config.json")) as fh:
        trained = Config.from_dict(json.load(fh))
    eval_cfg = dataclasses.replace(trained, train=dataclasses.replace(trained.train,
                                                                      batch_size=32))
    plan = budget.Ledger(FLAGS.model_dir).data
    result = {
        "benchmark": "300W protocol at CPU scale (bench/reproduce_300w.py)",
        "command": " ".join(["python -m bench.reproduce_300w", *sys.argv[1:]]),
        "machine_at_start": machine,
        "training": {
            "records": FLAGS.train_records,
            "epochs": plan.get("epochs_done", trained.train.epochs),
            "planned_epochs": trained.train.epochs,
            "steps_per_epoch": plan.get("steps_per_epoch"),
            "steps": plan.get("epochs_done", 0) * plan.get("steps_per_epoch", 0),
            "minutes": plan.get("minutes_used"),
            "budget": plan,
            "cpu": machine["cpu_model"], "load_average": machine["load_average"],
            "settings": trained.to_dict(),
        },
        "evaluation": {"decode": decode, "flip_test": flip,
                       "normalizer": "inter_ocular (outer eye corners 36/45); nme_ip: eye "
                                     "centres"},
        "tests": {name: test_metrics(model, pattern, eval_cfg, decode, flip)
                  for name, pattern in tests.items()},
        "paper": {"nme_io": PAPER, "note": "4 stacks at 256 px on a GPU, 3,148 training faces"},
    }
    if os.path.isfile(curve_path):
        with open(curve_path) as fh:
            result["learning_curve"] = {"test_set": next(iter(tests)),
                                        "points": json.load(fh)["points"]}
    if FLAGS.dlib_results:
        with open(FLAGS.dlib_results) as fh:
            result["dlib"] = json.load(fh)
    write_json(FLAGS.out, result)
    for name, t in result["tests"].items():
        print(f"{name}: {t['count']} faces, NME io {t['nme_io']:.2f} % (median "
              f"{t['median_nme_io']:.2f}), ip {t['nme_ip']:.2f} %, FR@10 {t['fr_10']:.2f} %, "
              f"AUC@10 {t['auc_10']:.4f}")
    logging.info("wrote %s", FLAGS.out)


if __name__ == "__main__":
    app.run(main)
