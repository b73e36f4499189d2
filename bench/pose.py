"""Human-pose benchmark (paper Sec. 7.7, Table 8): AW against MSE on LSP-extended joints.

    nice -n 10 python -m bench.pose --data=../shared/data/lspet400 --budget_minutes=30 \
        --out=bench/results/pose.json --work_dir=/tmp/awing_pose

Data: ``lspet400`` (``joints.mat`` + ``images/``) read with ``data_tools.convert_lsp``'s
reader (scheme ``lsp14``) and split by image index, not at random: images 1-350 train,
351-400 test. Invisible LSP-extended joints carry no usable coordinates.

Rows: ``AW`` (loss ``awing``: Adaptive Wing + weighted loss map) and ``MSE``, both the
``--preset`` network with scheme ``lsp14`` (its defaults: boundary channel and CoordConv on),
the same seed, augmentation and number of epochs. The epochs come from a timing probe that
fits ``--budget_minutes`` (or ``--epochs``). Learning rates as in ``bench.ablation``: AW uses
``--learning_rate``; MSE uses ``--mse_learning_rate`` or, without it, the best of
``--mse_lr_candidates`` by PCK after ``--lr_probe_minutes`` on a split of the TRAINING images
(1-300 train, 301-350 held out).

Metric: PCK@0.2 with the torso size: a visible joint is correct when its distance to the
ground truth is at most 0.2 x the distance between the left shoulder and the right hip (the
scheme's ``torso`` normalizer). Where one of those two joints is invisible the other diagonal
(right shoulder - left hip) is used; an image with neither diagonal visible is left out (the
count is reported). Only visible joints count. Per joint group (ankle, knee, hip, wrist,
elbow, shoulder, head) and the mean over all counted joints (``mean``) plus the mean of the
group values (``mean_of_groups``). A PCK curve (every ``eval_every`` epochs, on the test
images) is stored per row to judge convergence; the last epoch is reported.

Resumable like ``bench.ablation``: finished rows in ``--out`` are skipped when their settings
are unchanged; an interrupted row resumes at its last completed epoch. ``machine_at_start``
records the CPU model, cores and load average when the last session started.
"""

from __future__ import annotations

import json
import os
import pathlib
import time
from typing import TYPE_CHECKING, Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from bench.harness import plan as plan_lib  # noqa: E402
from bench.harness import run_flags  # noqa: E402
from bench.harness.evaluation import predictions  # noqa: E402
from bench.harness.machine import machine_info  # noqa: E402
from bench.harness.records import records_glob, write_filtered  # noqa: E402
from bench.harness.results import load_json, write_json  # noqa: E402
from bench.harness.run_config import Variant, run_config  # noqa: E402
from bench.harness.training_run import train_run  # noqa: E402

if TYPE_CHECKING:
    from awing_tf.config import Config
    from awing_tf.models.face_aligner import FaceAligner

FLAGS = flags.FLAGS
SCHEME = "lsp14"
TORSO = (9, 2)  # left shoulder, right hip (the scheme's "torso" normalizer)
TORSO_ALT = (8, 3)  # right shoulder, left hip
# lsp14's defaults: boundary channel and CoordConv on
ROWS: dict[str, Variant] = {"AW": Variant("awing", True, True, True),
                            "MSE": Variant("mse", True, True, True)}
GROUPS = ("ankle", "knee", "hip", "wrist", "elbow", "shoulder", "head", "mean")
RESULT_INDENT = 1


def define_flags() -> None:
    """Flags of the app (defined only when run as a script)."""
    run_flags.define_run_flags()
    flags.adopt_module_key_flags(run_flags)
    flags.DEFINE_string("data", "../shared/data/lspet400", "LSP-extended folder.")
    flags.DEFINE_string("out", "bench/results/pose.json", "Result JSON.")
    flags.DEFINE_string("work_dir", "/tmp/awing_pose", "Records, runs, plan.")
    flags.DEFINE_list("rows", ["AW", "MSE"], "Rows: AW, MSE.")
    flags.DEFINE_integer("train_count", 350, "Images 1..N train, the rest test.")
    flags.DEFINE_float("threshold", 0.2, "PCK threshold (fraction of the torso size).")


# === Data ===

def image_index(source_id: str) -> int:
    """0-based index of ``images/im00042.jpg`` (41)."""
    return int(pathlib.PurePosixPath(source_id).stem[2:]) - 1


def prepare_lsp(data: str, work_dir: str, train_count: int) -> dict[str, Any]:
    """Records of images [0, train_count) (train), the rest (test), and the probe split of
    the training images (its last 50 held out); cached in ``work_dir/records``."""
    from data_tools.convert_lsp import iter_lsp_items

    rec_dir = pathlib.Path(work_dir) / "records"
    manifest = rec_dir / "split.json"
    if manifest.is_file():
        split = json.loads(manifest.read_text())
        if split.get("train_images") == train_count:
            return split
    rec_dir.mkdir(parents=True, exist_ok=True)
    probe_cut = max(1, train_count - 50)
    parts = {
        "train": lambda i: i < train_count,
        "test": lambda i: i >= train_count,
        "probe_train": lambda i: i < probe_cut,
        "probe_val": lambda i: probe_cut <= i < train_count,
    }
    split: dict[str, Any] = {"data": str(pathlib.Path(data).resolve()),
                             "train_images": train_count,
                             "rule": f"images 1-{train_count} train, the rest test; probe: "
                                     f"1-{probe_cut} / {probe_cut + 1}-{train_count}"}
    for name, keep in parts.items():
        items, _ = iter_lsp_items(data)
        prefix = str(rec_dir / f"lsp_{name}")
        split[f"{name}_count"] = write_filtered(
            items, prefix, SCHEME, lambda it, keep=keep: keep(image_index(it.source_id)))
        split[f"{name}_records"] = records_glob(prefix)
    manifest.write_text(json.dumps(split, indent=2))
    return split


# === PCK ===

def pck(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray,
        threshold: float = 0.2) -> dict[str, Any]:
    """PCK@``threshold`` (percent) per joint group of lsp14, ``mean`` over all counted joints
    and ``mean_of_groups``; pred, gt ``(N, 14, 2)``, visible ``(N, 14)``."""
    from awing_tf.schemes import get_scheme

    vis = np.asarray(visible) > 0
    d_main = np.linalg.norm(gt[:, TORSO[0]] - gt[:, TORSO[1]], axis=-1)
    d_alt = np.linalg.norm(gt[:, TORSO_ALT[0]] - gt[:, TORSO_ALT[1]], axis=-1)
    ok_main = vis[:, TORSO[0]] & vis[:, TORSO[1]] & (d_main > 0)
    ok_alt = vis[:, TORSO_ALT[0]] & vis[:, TORSO_ALT[1]] & (d_alt > 0)
    torso = np.where(ok_main, d_main, np.where(ok_alt, d_alt, np.nan))
    used = ok_main | ok_alt
    err = np.linalg.norm(pred - gt, axis=-1)
    counted = vis & used[:, None]
    correct = (err <= threshold * torso[:, None]) & counted
    out: dict[str, Any] = {}
    for group, idx in get_scheme(SCHEME).groups.items():
        n = counted[:, list(idx)].sum()
        out[group] = round(float(correct[:, list(idx)].sum() / n * 100), 3) if n else None
    out["mean"] = round(float(correct.sum() / max(1, counted.sum()) * 100), 3)
    vals = [v for k, v in out.items() if k != "mean" and v is not None]
    out["mean_of_groups"] = round(float(np.mean(vals)), 3) if vals else None
    out["images"] = int(used.sum())
    out["images_without_torso"] = int((~used).sum())
    out["joints"] = int(counted.sum())
    return out


def pck_of(model: FaceAligner, records: str, config: Config, threshold: float) -> dict[str, Any]:
    """:func:`pck` of ``model`` on ``records`` (read with ``config``)."""
    p = predictions(model, records, config)
    return pck(p["pred"], p["gt"], p["visible"], threshold)


def mean_pck(model: FaceAligner, records: str, config: Config) -> float:
    """Mean PCK at ``--threshold`` (the curve's value and the MSE probe's score)."""
    return pck_of(model, records, config, FLAGS.threshold)["mean"]


# === The benchmark ===

def plan_spec() -> plan_lib.PlanSpec:
    """The pose plan: mean PCK for timing and the MSE probe (on the training images)."""
    return plan_lib.PlanSpec(
        identity={"train_count": FLAGS.train_count}, score_fn=mean_pck,
        timing_metric="pck",
        score_description="mean PCK@0.2 (%) on the held-out training images",
        lower_is_better=False, mse_variant=ROWS["MSE"], needs_mse="MSE" in FLAGS.rows,
        no_mse_rate=None, no_mse_source="no MSE row")


def run_row(name: str, plan: dict, split: dict, base: dict, work_dir: str, key: str
            ) -> dict:
    """Trains and evaluates one row; returns its result dict."""
    variant = ROWS[name]
    lr = plan_lib.rate_for(plan, variant.loss)
    settings, _ = plan_lib.run_settings(plan, base, name, lr, threshold=FLAGS.threshold)
    cfg = run_config(variant=variant, epochs=plan["epochs"], learning_rate=lr, **base)
    test = split["test_records"]
    start = time.perf_counter()
    model, info = train_run(
        cfg, split["train_records"], os.path.join(work_dir, "runs", name),
        plan["steps_per_epoch"], lambda m: {"pck_mean": mean_pck(m, test, cfg)},
        plan["eval_every"], settings)
    return {
        "name": name, "pck": pck_of(model, test, cfg, FLAGS.threshold),
        "minutes": info["train_minutes"],
        "wall_minutes_this_session": round((time.perf_counter() - start) / 60.0, 2),
        "val_curve": info["val_curve"], "loss": variant.loss, "learning_rate": lr,
        "epochs": plan["epochs"], "steps": plan["epochs"] * plan["steps_per_epoch"],
        "resumed": info["resumed"], "settings_key": key,
    }


def print_rows(rows: list[dict]) -> None:
    """PCK per joint group and minutes, one line per row."""
    print(f"{'Method':8s}" + "".join(f"{g:>9s}" for g in GROUPS) + f"{'min':>7s}")
    for r in rows:
        vals = [r["pck"].get(g) for g in GROUPS]
        print(f"{r['name']:8s}" + "".join(
            f"{v:9.1f}" if v is not None else f"{'-':>9s}" for v in vals)
            + f"{r['minutes']:7.1f}")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    unknown = [r for r in FLAGS.rows if r not in ROWS]
    if unknown:
        raise app.UsageError(f"unknown rows {unknown}; choose from {list(ROWS)}")
    machine = machine_info()
    work_dir = os.path.abspath(FLAGS.work_dir)
    split = prepare_lsp(FLAGS.data, work_dir, FLAGS.train_count)
    logging.info("split: %s", split)
    base = run_flags.base_settings(SCHEME)
    plan = plan_lib.training_plan(work_dir, split, base, plan_spec())
    result = load_json(FLAGS.out)
    result["config"] = {
        **plan_lib.config_block(plan), "scheme": SCHEME,
        "metric": f"PCK@{FLAGS.threshold:g}, torso = |l-shoulder - r-hip| (else "
                  "|r-shoulder - l-hip|), visible joints only; val_curve = mean PCK on the "
                  "test images",
    }
    result["split"] = split
    result["machine_at_start"] = machine
    by_name = {r["name"]: r for r in result.get("rows", [])}
    for name in FLAGS.rows:
        lr = plan_lib.rate_for(plan, ROWS[name].loss)
        _, key = plan_lib.run_settings(plan, base, name, lr, threshold=FLAGS.threshold)
        if by_name.get(name, {}).get("settings_key") == key:
            logging.info("row %s: done already", name)
            continue
        by_name[name] = run_row(name, plan, split, base, work_dir, key)
        result["rows"] = [by_name[n] for n in ROWS if n in by_name]
        write_json(FLAGS.out, result, indent=RESULT_INDENT)
    result["rows"] = [by_name[n] for n in ROWS if n in by_name]
    write_json(FLAGS.out, result, indent=RESULT_INDENT)
    print_rows(result["rows"])
    print(f"JSON: {FLAGS.out}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
