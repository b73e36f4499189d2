"""Ablation benchmark (paper Table 7, optionally Table 6): one fixed split, equal budgets.

    nice -n 10 python -m bench.ablation --data=../shared/data/300w_common --budget_minutes=30 \
        --out=bench/results/ablation.json --work_dir=/tmp/awing_ablation [--theta_sweep]

Split: train on the 330 HELEN faces of ``300w_common``, test on its 224 LFPW faces (never
mixed). Each subset is converted on its own with ``data_tools.convert_300w`` and the shared
``bbox.txt`` (its names are ``HELEN/...``, relative to ``300w_common``; the converter matches
names relative to ``--input``, so the box file is rewritten per subset with the prefix removed).

Rows (exact names of Table 7): ``MSE``, ``MSE+WM``, ``AW``, ``AW+WM_base``, ``AW+WM``,
``AW+WM+B``, ``AW+WM+B+C``, ``AW+WM+B+C+CB``. B = boundary channel, C = CoordConv (x, y, r),
CB = boundary-masked coordinates; rows without a letter have that module off.

Equal budgets: every row trains the same number of epochs of the same preset, seed, batch and
augmentation. Unless ``--epochs`` is given, the epoch count comes from a short timing probe
of the most expensive row (``AW+WM+B+C+CB``: seconds per step, per-epoch callback overhead,
one evaluation pass) so that this row fits ``--budget_minutes``; cheaper rows finish sooner.
The plan (epochs, evaluation interval, learning rates) is stored in ``work_dir/plan.json``
and reused, so an interrupted run keeps its settings.

Learning rates: RMSProp (the paper's optimiser) divides each step by a running RMS of the
gradient, so the ~100x smaller scale of the MSE loss alone does not shrink its steps; MSE on
heatmaps instead tends to sit on the "all-background" plateau (DESIGN.md: 25.9 % after 22 min
at 2.5e-4). AW rows use ``--learning_rate`` (2.5e-4, the rate measured on this machine; the
stacked-hourglass literature uses 2.5e-4 with MSE, the paper 1e-4 with AW). The MSE rows use
``--mse_learning_rate``; without it the rate is chosen by a probe: MSE trained for
``--lr_probe_minutes`` at each of ``--mse_lr_candidates`` on HELEN only (first 280 faces,
tested on the last 50 HELEN faces, never on LFPW), lowest NME wins. Both choices and the
probe's numbers go into the JSON. The rate is multiplied by ``--lr_decay_factor`` at each of
``--lr_decay_fractions`` of the epochs (default: once, at 75 %).

Convergence: every ``eval_every`` epochs (about 20 points per row) the model is run on the
LFPW crops and the inter-ocular NME is stored as the row's ``val_curve`` together with the
training loss. The curve is for judging convergence only: no model selection is done on the
test set (the reported model is the last epoch's).

Resumable: a finished row is kept in ``--out`` (and ``work_dir/rows/<row>.json``) and skipped
next time when its settings are unchanged; an interrupted row resumes at its last completed
epoch (the trainer's BackupAndRestore), a row whose training finished but whose evaluation did
not is evaluated from its saved model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import pathlib
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

FLAGS = flags.FLAGS

# name -> (loss, use_boundary, use_coordconv, use_boundary_coords)
ROWS: dict[str, tuple[str, bool, bool, bool]] = {
    "MSE": ("mse", False, False, False),
    "MSE+WM": ("mse_map", False, False, False),
    "AW": ("awing_nomap", False, False, False),
    "AW+WM_base": ("awing_wmbase", False, False, False),
    "AW+WM": ("awing", False, False, False),
    "AW+WM+B": ("awing", True, False, False),
    "AW+WM+B+C": ("awing", True, True, False),
    "AW+WM+B+C+CB": ("awing", True, True, True),
}
THETAS = (0.3, 0.5, 0.7)
MSE_LOSSES = ("mse", "mse_map")
TIMING_ROW = "AW+WM+B+C+CB"  # the most expensive row: its step time sets the epoch count


def define_run_flags() -> None:
    """The training-plan flags shared by ``bench.ablation`` and ``bench.pose``."""
    flags.DEFINE_float("budget_minutes", 30.0, "Training budget per row (sets the epochs).")
    flags.DEFINE_string("preset", "compact", "Model/data preset (config.preset).")
    flags.DEFINE_integer("epochs", None, "Epochs per row (default: from the timing probe).")
    flags.DEFINE_integer("steps_per_epoch", None, "Default: training images // batch.")
    flags.DEFINE_integer("eval_every", None, "Epochs between val-curve points (default ~20).")
    flags.DEFINE_integer("seed", 0, "Seed of weights and augmentation.")
    flags.DEFINE_integer("batch_size", 16, "Batch size.")
    flags.DEFINE_float("learning_rate", 2.5e-4, "RMSProp rate of the AW rows.")
    flags.DEFINE_float("mse_learning_rate", None,
                       "RMSProp rate of the MSE rows (default: chosen by the probe).")
    flags.DEFINE_list("mse_lr_candidates", ["2.5e-4", "1e-3", "2.5e-3"],
                      "Rates the MSE probe tries.")
    flags.DEFINE_float("lr_probe_minutes", 5.0, "Training time per probed rate.")
    flags.DEFINE_list("lr_decay_fractions", ["0.75"],
                      "Fractions of the epochs where the rate is multiplied by the factor "
                      "(empty = constant).")
    flags.DEFINE_float("lr_decay_factor", 0.1, "Learning-rate decay factor.")
    flags.DEFINE_string("precision", "auto", "Keras dtype policy (auto: bf16 where native).")
    flags.DEFINE_integer("probe_steps", 6, "Steps per epoch of the timing probe (3 epochs).")
    flags.DEFINE_multi_string("override", [], "Extra config overrides for every row.")


def define_flags() -> None:
    """Flags of the app (defined only when run as a script, so helpers stay importable)."""
    define_run_flags()
    flags.DEFINE_string("data", "../shared/data/300w_common",
                        "300w_common folder (HELEN/, LFPW/, bbox.txt).")
    flags.DEFINE_string("out", "bench/results/ablation.json", "Result JSON.")
    flags.DEFINE_string("ced", None, "CED plot (default: <out without .json>_ced.png).")
    flags.DEFINE_string("work_dir", "/tmp/awing_ablation", "Records, runs, plan, row JSONs.")
    flags.DEFINE_string("rows", "all", "'all' or a comma list of row names.")
    flags.DEFINE_bool("theta_sweep", False, "Also AW+WM with theta 0.3/0.5/0.7 (Table 6).")


# === Data ===

def write_filtered(items: Iterable[Any], output_prefix: str, scheme: str,
                   keep: Callable[[Any], bool]) -> int:
    """Writes the records of ``items`` that ``keep`` accepts (skips are passed through) to
    one shard ``PREFIX-00000-of-00001.tfrecord``; returns the number written."""
    from data_tools import common

    def selected() -> Iterator[Any]:
        for item in items:
            if isinstance(item, common.Skipped) or keep(item):
                yield item

    summary = common.write_items(selected(), output_prefix, scheme, desc=os.path.basename(
        output_prefix))
    return int(summary.written["all"])


def records_glob(prefix: str) -> str:
    return f"{prefix}-*.tfrecord"


def prepare_300w(data: str, work_dir: str) -> dict[str, Any]:
    """HELEN (train) and LFPW (test) records, plus the HELEN-only probe split; cached."""
    from data_tools.convert_300w import iter_300w_items, read_bbox_file

    root = pathlib.Path(data)
    rec_dir = pathlib.Path(work_dir) / "records"
    manifest = rec_dir / "split.json"
    if manifest.is_file():
        return json.loads(manifest.read_text())
    rec_dir.mkdir(parents=True, exist_ok=True)
    boxes = read_bbox_file(root / "bbox.txt")
    split: dict[str, Any] = {"data": str(root.resolve()), "train": "HELEN", "test": "LFPW"}
    for subset, key in (("HELEN", "train"), ("LFPW", "test")):
        box_file = rec_dir / f"bbox_{subset}.txt"
        prefix = f"{subset}/"
        box_file.write_text("".join(
            f"{name[len(prefix):]} {' '.join(f'{v:.2f}' for v in box)}\n"
            for name, box in boxes.items() if name.startswith(prefix)))
        items, _ = iter_300w_items(root / subset, bbox_file=box_file)
        out = str(rec_dir / subset.lower())
        n = write_filtered(items, out, "300w68", lambda _: True)
        split[f"{key}_records"] = records_glob(out)
        split[f"{key}_count"] = n
        if subset == "HELEN":  # probe split: sorted names, first n-50 / last 50
            names = sorted(p.relative_to(root / subset).with_suffix("").as_posix()
                           for p in (root / subset).rglob("*.pts"))
            held = {n_ for n_ in names[-50:]}

            def is_held(item: Any, held: set[str] = held) -> bool:
                return pathlib.PurePosixPath(item.source_id).with_suffix("").as_posix() in held

            for part, keep in (("probe_train", lambda it: not is_held(it)),
                               ("probe_val", is_held)):
                items, _ = iter_300w_items(root / subset, bbox_file=box_file)
                p_out = str(rec_dir / f"helen_{part}")
                split[f"{part}_count"] = write_filtered(items, p_out, "300w68", keep)
                split[f"{part}_records"] = records_glob(p_out)
    manifest.write_text(json.dumps(split, indent=2))
    return split


# === Configs ===

def row_config(preset: str, scheme: str, loss: str, boundary: bool, coordconv: bool,
               boundary_coords: bool, epochs: int, learning_rate: float, seed: int,
               batch_size: int, precision: str, decay_fractions: tuple[float, ...],
               decay_factor: float, overrides: Iterable[str] = ()) -> Any:
    """The Config of one row (the same overrides as ``awing_tf.train``'s flags)."""
    from awing_tf import config as config_lib

    cfg = config_lib.preset(preset, scheme=scheme)
    items = [
        f"model.use_boundary={boundary}", f"data.use_boundary={boundary}",
        f"model.use_coordconv={coordconv}", f"model.use_boundary_coords={boundary_coords}",
        f"train.loss={loss}", f"train.precision={precision}", f"train.seed={seed}",
        f"data.seed={seed}", f"train.epochs={epochs}", f"batch_size={batch_size}",
        f"train.learning_rate={learning_rate}",
        "train.lr_decay_fractions=" + ",".join(str(f) for f in decay_fractions),
        f"train.lr_decay_factor={decay_factor}",
    ]
    cfg = config_lib.apply_overrides(cfg, items + list(overrides))
    return dataclasses.replace(cfg, name=f"{preset}-{loss}")


# === Training with a curve ===

def make_curve_callback(evaluate_fn: Callable[[Any], dict[str, float]], every: int,
                        epochs: int, steps_per_epoch: int, path: str) -> Any:
    """A Keras callback that evaluates every ``every`` epochs (and after the last one) and
    persists ``{"points": [...], "train_seconds": s}`` to ``path`` (kept across resumes)."""
    import keras

    class Curve(keras.callbacks.Callback):
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
                self._save()
                return
            point = {"epoch": done, "step": done * steps_per_epoch,
                     "train_loss": float((logs or {}).get("loss", float("nan")))}
            point.update(evaluate_fn(self.model))
            self.points = [p for p in self.points if p["epoch"] < done] + [point]
            logging.info("epoch %d: %s", done, point)
            self._save()

        def seconds(self) -> float:
            return self.prior + time.perf_counter() - self.start

        def _save(self) -> None:
            tmp = path + ".tmp"
            with open(tmp, "w") as fh:
                json.dump({"points": self.points, "train_seconds": self.seconds()}, fh)
            os.replace(tmp, path)

    return Curve()


def train_run(config: Any, train_records: str, run_dir: str, steps_per_epoch: int,
              evaluate_fn: Callable[[Any], dict[str, float]], every: int,
              settings: dict) -> tuple[Any, dict]:
    """Trains (or resumes, or reloads) one run in ``run_dir``; returns the model and
    ``{"val_curve", "train_minutes", "resumed"}``.

    ``settings`` identify the run: a ``run_dir`` holding different settings is wiped first.
    """
    from awing_tf.model_io import load_model
    from awing_tf.trainer import train

    stamp = os.path.join(run_dir, "settings.json")
    text = json.dumps(settings, sort_keys=True)
    if os.path.isdir(run_dir) and (not os.path.isfile(stamp)
                                   or pathlib.Path(stamp).read_text() != text):
        logging.info("settings changed: starting %s afresh", run_dir)
        shutil.rmtree(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    pathlib.Path(stamp).write_text(text)
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
        curve._save()
    state = json.loads(pathlib.Path(curve_path).read_text()) if os.path.isfile(curve_path) \
        else {}
    return model, {"val_curve": state.get("points", []),
                   "train_minutes": round(state.get("train_seconds", 0.0) / 60.0, 2),
                   "resumed": resumed}


def timing_probe(config: Any, train_records: str, run_dir: str, probe_steps: int,
                 evaluate_fn: Callable[[Any], dict[str, float]]) -> dict[str, float]:
    """Seconds per training step, per-epoch callback overhead and one evaluation pass of
    ``config``, from 3 short epochs (the first one, with graph building, is not counted)."""
    import keras
    from awing_tf.trainer import train

    marks: dict[str, list[float]] = {"batch": [], "epoch_end": []}

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            marks.setdefault("epoch_begin", []).append(time.perf_counter())

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            marks["batch"].append(time.perf_counter())

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            marks["epoch_end"].append(time.perf_counter())

    shutil.rmtree(run_dir, ignore_errors=True)
    cfg = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=3))
    model, _ = train(cfg, train_records, run_dir, verbose=0, steps_per_epoch=probe_steps,
                     callbacks=[Clock()])
    b = np.asarray(marks["batch"]).reshape(3, probe_steps)
    step = float(np.median(np.diff(b[1:], axis=1))) if probe_steps > 1 else \
        float(np.median(b[1:, 0] - np.asarray(marks["epoch_begin"][1:])))
    overhead = float(np.median(np.asarray(marks["epoch_end"][1:]) - b[1:, -1]))
    t = time.perf_counter()
    evaluate_fn(model)
    eval_s = time.perf_counter() - t
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"seconds_per_step": step, "epoch_overhead_seconds": overhead,
            "eval_seconds": eval_s, "steps_per_second": 1.0 / step}


def epochs_for_budget(minutes: float, timing: dict[str, float], steps_per_epoch: int,
                      curve_points: int = 20, fixed_seconds: float = 60.0) -> int:
    """Epochs whose training, per-epoch overhead and ~``curve_points`` evaluations fit."""
    seconds = minutes * 60.0 - fixed_seconds - curve_points * timing["eval_seconds"]
    per_epoch = steps_per_epoch * timing["seconds_per_step"] + timing["epoch_overhead_seconds"]
    return max(1, int(seconds // per_epoch))


def default_every(epochs: int, points: int = 20) -> int:
    return max(1, math.ceil(epochs / points))


# === Evaluation ===

def face_predictions(model: Any, records: str, data_config: Any) -> dict[str, np.ndarray]:
    from awing_tf.evaluation import predict_records

    return predict_records(model, records, data_config, batch_size=32)


def face_metrics(pred: dict[str, np.ndarray]) -> dict[str, Any]:
    """NME inter-ocular and inter-pupil (percent), FR@10 % (percent), AUC@10 %."""
    from awing_tf.evaluation import build_report

    io = build_report(pred, "300w68", "inter_ocular")
    ip = build_report(pred, "300w68", "inter_pupil")
    return {"nme_io": round(io["nme"], 4), "nme_ip": round(ip["nme"], 4),
            "fr_10": round(io["fr_10"], 4), "auc_10": round(io["auc_10"], 5),
            "fr_10_ip": round(ip["fr_10"], 4), "auc_10_ip": round(ip["auc_10"], 5),
            "count": io["count"],
            "per_image_nme_io": [round(float(v), 6) for v in io["nmes"]]}


def settings_key(settings: dict) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def load_json(path: str) -> dict:
    return json.loads(pathlib.Path(path).read_text()) if os.path.isfile(path) else {}


def write_json(path: str, data: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)


# === The ablation ===

def probe_mse_rate(plan: dict, train_records: str, val_records: str, train_count: int,
                   base: dict, work_dir: str, candidates: list[float], minutes: float,
                   score_fn: Callable[[Any, str, Any], float], lower_is_better: bool = True,
                   spec: tuple[str, bool, bool, bool] = ("mse", False, False, False)) -> dict:
    """Trains the MSE ``spec`` at each candidate rate for ``minutes`` on ``train_records``
    and scores it on ``val_records`` (both from the TRAINING data); the best score wins.

    Fills ``plan["mse_lr_probe"]`` (results per rate, epochs, ``chosen``); resumable.
    """
    probe = plan.setdefault("mse_lr_probe", {})
    results = probe.setdefault("results", {})
    spe = max(1, train_count // base["batch_size"])
    epochs = epochs_for_budget(minutes, plan["timing"], spe, curve_points=1, fixed_seconds=30)
    probe.update(epochs=epochs, steps_per_epoch=spe, minutes_each=minutes,
                 train_records=train_records, val_records=val_records)
    loss, boundary, coordconv, bcoords = spec
    for lr in candidates:
        key = f"{lr:g}"
        if key in results:
            continue
        cfg = row_config(loss=loss, boundary=boundary, coordconv=coordconv,
                         boundary_coords=bcoords, epochs=epochs, learning_rate=lr, **base)
        run_dir = os.path.join(work_dir, "runs", f"probe_mse_lr{key}")

        def evaluate_fn(model: Any, cfg: Any = cfg) -> dict[str, float]:
            return {"score": float(score_fn(model, val_records, cfg.data))}

        _, info = train_run(cfg, train_records, run_dir, spe, evaluate_fn, epochs,
                            {"probe": key, "epochs": epochs, "spec": list(spec), **base})
        results[key] = {"score": info["val_curve"][-1]["score"] if info["val_curve"]
                        else float("nan"), "minutes": info["train_minutes"]}
        logging.info("MSE probe lr %s: %s", key, results[key])
    finite = {k: v["score"] for k, v in results.items() if math.isfinite(v["score"])}
    pick = min if lower_is_better else max
    best = pick(finite, key=finite.get) if finite else f"{candidates[0]:g}"
    probe["chosen"] = float(best)
    return plan


def nme_io_score(model: Any, records: str, data_config: Any) -> float:
    """Inter-ocular NME (percent) of ``model`` on ``records`` (the probe's score)."""
    return face_metrics(face_predictions(model, records, data_config))["nme_io"]


def run_row(name: str, spec: tuple[str, bool, bool, bool], plan: dict, split: dict,
            base: dict, work_dir: str, theta: float | None = None) -> dict:
    """Trains and evaluates one row; returns its result dict."""
    loss, boundary, coordconv, bcoords = spec
    lr = plan["mse_learning_rate"] if loss in MSE_LOSSES else plan["learning_rate"]
    extra = (f"train.awing_theta={theta}",) if theta is not None else ()
    cfg = row_config(loss=loss, boundary=boundary, coordconv=coordconv,
                     boundary_coords=bcoords, epochs=plan["epochs"], learning_rate=lr,
                     **{**base, "overrides": tuple(base["overrides"]) + extra})
    settings = {"row": name, "epochs": plan["epochs"], "lr": lr, "theta": theta, **base}
    safe = name.replace("+", "_").replace(" ", "").replace("=", "").replace("(", "_") \
        .replace(")", "")
    run_dir = os.path.join(work_dir, "runs", safe)
    test = split["test_records"]

    def evaluate_fn(model: Any) -> dict[str, float]:
        return {"nme_io": face_metrics(face_predictions(model, test, cfg.data))["nme_io"]}

    t = time.perf_counter()
    model, info = train_run(cfg, split["train_records"], run_dir, plan["steps_per_epoch"],
                            evaluate_fn, plan["eval_every"], settings)
    metrics = face_metrics(face_predictions(model, test, cfg.data))
    return {"name": name, **{k: v for k, v in metrics.items() if k != "per_image_nme_io"},
            "minutes": info["train_minutes"],
            "wall_minutes_this_session": round((time.perf_counter() - t) / 60.0, 2),
            "val_curve": info["val_curve"], "loss": loss, "learning_rate": lr,
            "theta": theta if theta is not None else (0.5 if loss.startswith("awing") else None),
            "use_boundary": boundary, "use_coordconv": coordconv,
            "use_boundary_coords": bcoords, "epochs": plan["epochs"],
            "steps": plan["epochs"] * plan["steps_per_epoch"], "resumed": info["resumed"],
            "per_image_nme_io": metrics["per_image_nme_io"]}


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'Method':22s}{'NME io %':>10s}{'NME ip %':>10s}{'FR@10 %':>9s}{'AUC@10':>8s}"
             f"{'min':>7s}{'lr':>9s}"]
    for r in rows:
        lines.append(f"{r['name']:22s}{r['nme_io']:10.2f}{r['nme_ip']:10.2f}{r['fr_10']:9.2f}"
                     f"{r['auc_10']:8.4f}{r['minutes']:7.1f}{r['learning_rate']:9.2g}")
    return "\n".join(lines)


def selected_rows(text: str) -> list[str]:
    if text.strip() == "all":
        return list(ROWS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        raise app.UsageError(f"unknown rows {unknown}; choose from {list(ROWS)}")
    return names


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    names = selected_rows(FLAGS.rows)
    work_dir = os.path.abspath(FLAGS.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    split = prepare_300w(FLAGS.data, work_dir)
    logging.info("split: %s", split)
    decay = tuple(float(f) for f in FLAGS.lr_decay_fractions if f.strip())
    base = dict(preset=FLAGS.preset, scheme="300w68", seed=FLAGS.seed,
                batch_size=FLAGS.batch_size, precision=FLAGS.precision, decay_fractions=decay,
                decay_factor=FLAGS.lr_decay_factor, overrides=tuple(FLAGS.override))
    plan_path = os.path.join(work_dir, "plan.json")
    plan = load_json(plan_path)
    plan_id = {"budget_minutes": FLAGS.budget_minutes, "epochs_flag": FLAGS.epochs,
               "steps_per_epoch_flag": FLAGS.steps_per_epoch, **base}
    if plan.get("id") != json.loads(json.dumps(plan_id)):
        plan = {"id": plan_id}
    plan["steps_per_epoch"] = FLAGS.steps_per_epoch or max(
        1, split["train_count"] // FLAGS.batch_size)
    plan["learning_rate"] = FLAGS.learning_rate
    if "timing" not in plan:
        cfg = row_config(loss="awing", boundary=True, coordconv=True,
                         boundary_coords=True, epochs=3, learning_rate=FLAGS.learning_rate,
                         **base)
        test = split["test_records"]
        plan["timing"] = timing_probe(
            cfg, split["train_records"], os.path.join(work_dir, "runs", "timing_probe"),
            FLAGS.probe_steps,
            lambda m: {"nme_io": face_metrics(face_predictions(m, test, cfg.data))["nme_io"]})
        plan["timing"]["row"] = TIMING_ROW
        write_json(plan_path, plan)
    logging.info("timing: %s", plan["timing"])
    plan["epochs"] = FLAGS.epochs or epochs_for_budget(FLAGS.budget_minutes, plan["timing"],
                                                       plan["steps_per_epoch"])
    plan["eval_every"] = FLAGS.eval_every or default_every(plan["epochs"])
    needs_mse = any(ROWS[n][0] in MSE_LOSSES for n in names)
    if FLAGS.mse_learning_rate is not None:
        plan["mse_learning_rate"] = FLAGS.mse_learning_rate
        plan["mse_learning_rate_source"] = "flag"
    elif needs_mse or "mse_learning_rate" in plan:
        if "chosen" not in plan.get("mse_lr_probe", {}):
            probe_mse_rate(plan, split["probe_train_records"], split["probe_val_records"],
                           split["probe_train_count"], base, work_dir,
                           [float(c) for c in FLAGS.mse_lr_candidates], FLAGS.lr_probe_minutes,
                           nme_io_score)
            plan["mse_lr_probe"]["score"] = "NME io (%) on the last 50 HELEN faces"
        plan["mse_learning_rate"] = plan["mse_lr_probe"]["chosen"]
        plan["mse_learning_rate_source"] = "probe"
    else:
        plan["mse_learning_rate"] = FLAGS.learning_rate
        plan["mse_learning_rate_source"] = "no MSE row selected"
    write_json(plan_path, plan)
    logging.info("plan: epochs %d x %d steps, eval every %d, lr AW %g, lr MSE %g",
                 plan["epochs"], plan["steps_per_epoch"], plan["eval_every"],
                 plan["learning_rate"], plan["mse_learning_rate"])

    result = load_json(FLAGS.out)
    config_block = {
        "preset": FLAGS.preset, "seed": FLAGS.seed, "batch_size": FLAGS.batch_size,
        "epochs": plan["epochs"], "steps_per_epoch": plan["steps_per_epoch"],
        "eval_every": plan["eval_every"], "budget_minutes_per_row": FLAGS.budget_minutes,
        "learning_rate_aw": plan["learning_rate"],
        "learning_rate_mse": plan["mse_learning_rate"],
        "learning_rate_mse_source": plan["mse_learning_rate_source"],
        "mse_lr_probe": plan.get("mse_lr_probe"), "optimizer": "RMSProp (rho 0.99, wd 1e-5)",
        "lr_decay_fractions": list(decay), "lr_decay_factor": FLAGS.lr_decay_factor,
        "precision": FLAGS.precision, "overrides": list(FLAGS.override),
        "timing_probe": plan["timing"], "augmentation": "preset defaults (paper Sec. 7.3)",
        "val_curve": "inter-ocular NME (%) on the LFPW test faces every eval_every epochs; "
                     "for judging convergence only, the last epoch is reported",
        "model_selection": "none (last epoch)",
    }
    result.update(config=config_block, split=split)
    rows_by_name = {r["name"]: r for r in result.get("rows", [])}
    theta_by_name = {r["name"]: r for r in result.get("theta_rows", [])}
    rows_dir = os.path.join(work_dir, "rows")
    os.makedirs(rows_dir, exist_ok=True)

    def save() -> None:
        result["rows"] = [rows_by_name[n] for n in ROWS if n in rows_by_name]
        result["theta_rows"] = [theta_by_name[k] for k in sorted(theta_by_name)]
        write_json(FLAGS.out, result)

    jobs: list[tuple[str, tuple, float | None, dict]] = [
        (n, ROWS[n], None, rows_by_name) for n in names]
    if FLAGS.theta_sweep:
        jobs += [(f"AW+WM (theta={t})", ROWS["AW+WM"], t, theta_by_name) for t in THETAS]
    for name, spec, theta, table in jobs:
        lr = plan["mse_learning_rate"] if spec[0] in MSE_LOSSES else plan["learning_rate"]
        settings = {"row": name, "epochs": plan["epochs"], "lr": lr, "theta": theta, **base}
        key = settings_key(json.loads(json.dumps(settings)))
        row_file = os.path.join(rows_dir, name.replace("+", "_").replace(" ", "") + ".json")
        cached = table.get(name) or load_json(row_file) or None
        if cached and cached.get("settings_key") == key:
            logging.info("row %s: done already (NME %.2f)", name, cached["nme_io"])
            table[name] = cached
            continue
        if theta == 0.5 and rows_by_name.get("AW+WM", {}).get("settings_key") == settings_key(
                {**settings, "row": "AW+WM", "theta": None}):
            table[name] = {**rows_by_name["AW+WM"], "name": name, "theta": 0.5,
                           "same_as": "AW+WM", "settings_key": key}
            save()
            continue
        logging.info("row %s: training %d epochs", name, plan["epochs"])
        row = run_row(name, spec, plan, split, base, work_dir, theta)
        row["settings_key"] = key
        write_json(row_file, row)
        table[name] = row
        save()
    save()
    from awing_tf.plots import plot_ced

    curves = {r["name"]: np.asarray(r["per_image_nme_io"]) for r in result["rows"]
              if r.get("per_image_nme_io")}
    ced = FLAGS.ced or os.path.splitext(FLAGS.out)[0] + "_ced.png"
    if curves:
        plot_ced(curves, ced, threshold=0.1,
                 title="300W common: train HELEN, test LFPW (NME inter-ocular)")
    print(format_rows(result["rows"]))
    if result["theta_rows"]:
        print(format_rows(result["theta_rows"]))
    print(f"JSON: {FLAGS.out}  CED: {ced}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
