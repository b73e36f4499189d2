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
heatmaps instead tends to sit on the "all-background" plateau (a 22-minute prototype run
of the compact network at 2.5e-4 stayed at 25.9 % NME). AW rows use ``--learning_rate`` (2.5e-4, the rate measured on this machine; the
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
epoch (the training loop's BackupAndRestore), a row whose training finished but whose evaluation
did not is evaluated from its saved model. ``machine_at_start`` records the CPU model, cores and
load average when the last session started.
"""

from __future__ import annotations

import json
import os
import pathlib
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from bench.harness import plan as plan_lib  # noqa: E402
from bench.harness.evaluation import face_metrics, nme_io, predictions  # noqa: E402
from bench.harness.machine import machine_info  # noqa: E402
from bench.harness.records import records_glob, write_filtered  # noqa: E402
from bench.harness.results import load_json, write_json  # noqa: E402
from bench.harness.run_config import Variant, run_config  # noqa: E402
from bench.harness.run_flags import base_settings, define_run_flags  # noqa: E402
from bench.harness.training_run import train_run  # noqa: E402

FLAGS = flags.FLAGS
SCHEME = "300w68"
ROWS: dict[str, Variant] = {
    "MSE": Variant("mse", False, False, False),
    "MSE+WM": Variant("mse_map", False, False, False),
    "AW": Variant("awing_nomap", False, False, False),
    "AW+WM_base": Variant("awing_wmbase", False, False, False),
    "AW+WM": Variant("awing", False, False, False),
    "AW+WM+B": Variant("awing", True, False, False),
    "AW+WM+B+C": Variant("awing", True, True, False),
    "AW+WM+B+C+CB": Variant("awing", True, True, True),
}
THETAS = (0.3, 0.5, 0.7)
TIMING_ROW = "AW+WM+B+C+CB"  # the most expensive row: its step time sets the epoch count
RESULT_INDENT = 1


def define_flags() -> None:
    """Flags of the app (defined only when run as a script, so the module stays importable)."""
    define_run_flags()
    flags.DEFINE_string("data", "../shared/data/300w_common",
                        "300w_common folder (HELEN/, LFPW/, bbox.txt).")
    flags.DEFINE_string("out", "bench/results/ablation.json", "Result JSON.")
    flags.DEFINE_string("ced", None, "CED plot (default: <out without .json>_ced.png).")
    flags.DEFINE_string("work_dir", "/tmp/awing_ablation", "Records, runs, plan, row JSONs.")
    flags.DEFINE_string("rows", "all", "'all' or a comma list of row names.")
    flags.DEFINE_bool("theta_sweep", False, "Also AW+WM with theta 0.3/0.5/0.7 (Table 6).")


# === Data ===

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
        split[f"{key}_records"] = records_glob(out)
        split[f"{key}_count"] = write_filtered(items, out, SCHEME, lambda _: True)
        if subset == "HELEN":  # probe split: sorted names, first n-50 / last 50
            names = sorted(p.relative_to(root / subset).with_suffix("").as_posix()
                           for p in (root / subset).rglob("*.pts"))
            held = set(names[-50:])

            def is_held(item: Any, held: set[str] = held) -> bool:
                return pathlib.PurePosixPath(item.source_id).with_suffix("").as_posix() in held

            for part, keep in (("probe_train", lambda it: not is_held(it)),
                               ("probe_val", is_held)):
                items, _ = iter_300w_items(root / subset, bbox_file=box_file)
                p_out = str(rec_dir / f"helen_{part}")
                split[f"{part}_count"] = write_filtered(items, p_out, SCHEME, keep)
                split[f"{part}_records"] = records_glob(p_out)
    manifest.write_text(json.dumps(split, indent=2))
    return split


# === Rows ===

def run_row(name: str, variant: Variant, plan: dict, split: dict, base: dict, work_dir: str,
            theta: float | None = None) -> dict:
    """Trains and evaluates one row; returns its result dict."""
    lr = plan_lib.rate_for(plan, variant.loss)
    extra = (f"train.awing_theta={theta}",) if theta is not None else ()
    cfg = run_config(variant=variant, epochs=plan["epochs"], learning_rate=lr,
                     **{**base, "overrides": tuple(base["overrides"]) + extra})
    settings, _ = plan_lib.run_settings(plan, base, name, lr, theta=theta)
    safe = name.replace("+", "_").replace(" ", "").replace("=", "").replace("(", "_") \
        .replace(")", "")
    test = split["test_records"]
    start = time.perf_counter()
    model, info = train_run(cfg, split["train_records"], os.path.join(work_dir, "runs", safe),
                            plan["steps_per_epoch"],
                            lambda m: {"nme_io": nme_io(m, test, cfg)},
                            plan["eval_every"], settings)
    metrics = face_metrics(predictions(model, test, cfg))
    return {"name": name, **{k: v for k, v in metrics.items() if k != "per_image_nme_io"},
            "minutes": info["train_minutes"],
            "wall_minutes_this_session": round((time.perf_counter() - start) / 60.0, 2),
            "val_curve": info["val_curve"], "loss": variant.loss, "learning_rate": lr,
            "theta": theta if theta is not None else (
                0.5 if variant.loss.startswith("awing") else None),
            "use_boundary": variant.use_boundary, "use_coordconv": variant.use_coordconv,
            "use_boundary_coords": variant.use_boundary_coords, "epochs": plan["epochs"],
            "steps": plan["epochs"] * plan["steps_per_epoch"], "resumed": info["resumed"],
            "per_image_nme_io": metrics["per_image_nme_io"]}


def format_rows(rows: list[dict]) -> str:
    """The rows as a text table (NMEs, FR, AUC, minutes, rate)."""
    lines = [f"{'Method':22s}{'NME io %':>10s}{'NME ip %':>10s}{'FR@10 %':>9s}{'AUC@10':>8s}"
             f"{'min':>7s}{'lr':>9s}"]
    for r in rows:
        lines.append(f"{r['name']:22s}{r['nme_io']:10.2f}{r['nme_ip']:10.2f}{r['fr_10']:9.2f}"
                     f"{r['auc_10']:8.4f}{r['minutes']:7.1f}{r['learning_rate']:9.2g}")
    return "\n".join(lines)


def selected_rows(text: str) -> list[str]:
    """``--rows``: ``all`` or a comma list of names of :data:`ROWS`."""
    if text.strip() == "all":
        return list(ROWS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        raise app.UsageError(f"unknown rows {unknown}; choose from {list(ROWS)}")
    return names


def plan_spec(names: list[str]) -> plan_lib.PlanSpec:
    """The ablation's plan: NME io for timing and the MSE probe (on HELEN only)."""
    return plan_lib.PlanSpec(
        identity={"steps_per_epoch_flag": FLAGS.steps_per_epoch}, score_fn=nme_io,
        timing_metric="nme_io", score_description="NME io (%) on the last 50 HELEN faces",
        lower_is_better=True, mse_variant=ROWS["MSE"],
        needs_mse=any(ROWS[n].loss.startswith("mse") for n in names),
        no_mse_rate=FLAGS.learning_rate, no_mse_source="no MSE row selected",
        timing_row=TIMING_ROW)


def result_config(plan: dict) -> dict:
    """The result's ``config`` block."""
    return {**plan_lib.config_block(plan),
            "optimizer": "RMSProp (rho 0.99, wd 1e-5)",
            "augmentation": "preset defaults (paper Sec. 7.3)",
            "val_curve": "inter-ocular NME (%) on the LFPW test faces every eval_every "
                         "epochs; for judging convergence only, the last epoch is reported"}


def run_rows(names: list[str], plan: dict, split: dict, base: dict, work_dir: str,
             result: dict) -> None:
    """Trains the selected rows (and the theta sweep) that are not done yet, saving
    ``result`` to ``--out`` after each."""
    rows_by_name = {r["name"]: r for r in result.get("rows", [])}
    theta_by_name = {r["name"]: r for r in result.get("theta_rows", [])}
    rows_dir = os.path.join(work_dir, "rows")
    os.makedirs(rows_dir, exist_ok=True)

    def save() -> None:
        result["rows"] = [rows_by_name[n] for n in ROWS if n in rows_by_name]
        result["theta_rows"] = [theta_by_name[k] for k in sorted(theta_by_name)]
        write_json(FLAGS.out, result, indent=RESULT_INDENT)

    jobs: list[tuple[str, Variant, float | None, dict]] = [
        (n, ROWS[n], None, rows_by_name) for n in names]
    if FLAGS.theta_sweep:
        jobs += [(f"AW+WM (theta={t})", ROWS["AW+WM"], t, theta_by_name) for t in THETAS]
    for name, variant, theta, table in jobs:
        lr = plan_lib.rate_for(plan, variant.loss)
        _, key = plan_lib.run_settings(plan, base, name, lr, theta=theta)
        row_file = os.path.join(rows_dir, name.replace("+", "_").replace(" ", "") + ".json")
        cached = table.get(name) or load_json(row_file) or None
        if cached and cached.get("settings_key") == key:
            logging.info("row %s: done already (NME %.2f)", name, cached["nme_io"])
            table[name] = cached
            continue
        _, same_as_aw_wm = plan_lib.run_settings(plan, base, "AW+WM", lr, theta=None)
        if theta == 0.5 and rows_by_name.get("AW+WM", {}).get("settings_key") == same_as_aw_wm:
            table[name] = {**rows_by_name["AW+WM"], "name": name, "theta": 0.5,
                           "same_as": "AW+WM", "settings_key": key}
            save()
            continue
        logging.info("row %s: training %d epochs", name, plan["epochs"])
        row = run_row(name, variant, plan, split, base, work_dir, theta)
        row["settings_key"] = key
        write_json(row_file, row, indent=RESULT_INDENT)
        table[name] = row
        save()
    save()


def plot_rows(result: dict) -> str:
    """The CED plot of the rows; returns its path."""
    from awing_tf.evaluation.ced_plot import plot_ced

    curves = {r["name"]: np.asarray(r["per_image_nme_io"]) for r in result["rows"]
              if r.get("per_image_nme_io")}
    ced = FLAGS.ced or os.path.splitext(FLAGS.out)[0] + "_ced.png"
    if curves:
        plot_ced(curves, ced, threshold=0.1,
                 title="300W common: train HELEN, test LFPW (NME inter-ocular)")
    return ced


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    names = selected_rows(FLAGS.rows)
    machine = machine_info()
    work_dir = os.path.abspath(FLAGS.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    split = prepare_300w(FLAGS.data, work_dir)
    logging.info("split: %s", split)
    base = base_settings(SCHEME)
    plan = plan_lib.training_plan(work_dir, split, base, plan_spec(names))
    result = load_json(FLAGS.out)
    result.update(config=result_config(plan), split=split, machine_at_start=machine)
    run_rows(names, plan, split, base, work_dir, result)
    ced = plot_rows(result)
    print(format_rows(result["rows"]))
    if result["theta_rows"]:
        print(format_rows(result["theta_rows"]))
    print(f"JSON: {FLAGS.out}  CED: {ced}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
