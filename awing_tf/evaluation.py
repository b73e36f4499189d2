"""Evaluate a model on TFRecords: per-image NME, FR, AUC, CED and WFLW attribute subsets."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from awing_tf.codec import decode_heatmaps
from awing_tf.config import DataConfig
from awing_tf.data.features import WFLW_ATTRIBUTE_NAMES
from awing_tf.data.pipeline import make_dataset
from awing_tf.metrics import auc as auc_fn
from awing_tf.metrics import failure_rate, nme, normaliser_distance

NORMALIZERS = ("inter_ocular", "inter_pupil", "box", "torso")


def _to_image(points: np.ndarray, crop_to_image: np.ndarray) -> np.ndarray:
    """``(B, K, 2)`` crop pixels -> source-image pixels with ``(B, 3, 3)`` matrices."""
    homo = np.concatenate([points, np.ones(points.shape[:-1] + (1,))], axis=-1)
    return np.einsum("bij,bkj->bki", crop_to_image, homo)[..., :2]


def predict_records(model, records: str, data_config: DataConfig, decode: str = "quarter_offset",
                    batch_size: int = 16) -> dict[str, np.ndarray]:
    """Runs ``model`` (a FaceAligner) over evaluation crops of ``records``.

    Returns ``pred`` and ``gt`` ``(N, K, 2)`` in source-image pixels, ``visible`` (N, K),
    ``source_id`` (N,), ``attributes`` (N, 6).
    """
    cfg = dataclasses.replace(data_config, batch_size=batch_size)
    ds = make_dataset(records, cfg, training=False, num_stacks=1, with_metadata=True)
    k = model.num_landmarks
    out: dict[str, list] = {"pred": [], "gt": [], "visible": [], "source_id": [],
                            "attributes": []}
    for images, _, meta in ds:
        hm = model.landmark_heatmaps(images)
        coords, _ = decode_heatmaps(hm, method=decode, input_size=model.input_size)
        m = meta["crop_to_image"].numpy().astype(np.float64)
        out["pred"].append(_to_image(coords.numpy().astype(np.float64), m))
        out["gt"].append(_to_image(meta["landmarks"].numpy().astype(np.float64), m))
        out["visible"].append(meta["visible"].numpy())
        out["source_id"].append(meta["source_id"].numpy())
        out["attributes"].append(meta["attributes"].numpy())
    if not out["pred"]:
        raise ValueError(f"no records read from {records!r}")
    res = {key: np.concatenate(v) for key, v in out.items()}
    if res["gt"].shape[1] != k:
        raise ValueError(f"records have {res['gt'].shape[1]} landmarks, the model {k}")
    return res


def metrics_block(nmes: np.ndarray) -> dict[str, float]:
    """The paper's numbers: NME and FR in percent, AUC as a fraction (Table 1 style)."""
    return {
        "count": int(nmes.size),
        "nme": float(nmes.mean() * 100),
        "fr_8": failure_rate(nmes, 0.08) * 100,
        "fr_10": failure_rate(nmes, 0.10) * 100,
        "auc_8": auc_fn(nmes, 0.08),
        "auc_10": auc_fn(nmes, 0.10),
    }


def build_report(pred: dict[str, np.ndarray], scheme: str, normalizer: str | None) -> dict:
    """Report dict: overall metrics, per-image NMEs and (WFLW) attribute subsets."""
    d = normaliser_distance(pred["gt"], scheme, normalizer)
    nmes = nme(pred["pred"], pred["gt"], d)
    report = {"scheme": scheme, "normalizer": normalizer, **metrics_block(nmes)}
    attrs = pred["attributes"]
    subsets = {}
    if scheme == "wflw98" and attrs.size:
        for i, name in enumerate(WFLW_ATTRIBUTE_NAMES):
            sel = attrs[:, i] == 1
            if sel.any():
                subsets[name] = metrics_block(nmes[sel])
    report["subsets"] = subsets
    report["per_image"] = [
        {"source_id": sid.decode("utf-8", "replace"), "nme": float(e * 100)}
        for sid, e in zip(pred["source_id"], nmes, strict=True)
    ]
    report["nmes"] = nmes  # removed before JSON; kept for plots
    return report


def format_table(report: dict) -> str:
    """A text table like the paper's Table 1 (rows: metrics, columns: test set + subsets)."""
    cols = {"Testset": report, **report.get("subsets", {})}
    names = list(cols)
    lines = ["Metric        " + "".join(f"{n:>14s}" for n in names)]
    for key, label, fmt in (("nme", "NME (%)", "{:14.2f}"), ("fr_10", "FR@10% (%)", "{:14.2f}"),
                            ("auc_10", "AUC@10%", "{:14.4f}"), ("fr_8", "FR@8% (%)", "{:14.2f}"),
                            ("auc_8", "AUC@8%", "{:14.4f}")):
        lines.append(f"{label:14s}" + "".join(fmt.format(cols[n][key]) for n in names))
    return "\n".join(lines)


def default_normalizer(scheme: str) -> str:
    from awing_tf.schemes import get_scheme

    return get_scheme(scheme).default_normaliser


def check_normalizer(name: str | None) -> None:
    if name is not None and name not in NORMALIZERS:
        raise ValueError(f"normalizer must be one of {NORMALIZERS}, got {name!r}")


def evaluate(model_path: str, records: str, output_dir: str, normalizer: str | None = None,
             decode: str = "quarter_offset", crop_margin: float | None = None,
             batch_size: int = 16) -> dict:
    """Evaluates the model at ``model_path`` on ``records``; writes ``report.json`` and
    ``ced.png`` into ``output_dir`` and returns the report."""
    from awing_tf.model_io import data_config_for, load_model
    from awing_tf.plots import plot_ced

    model = load_model(model_path)
    data_cfg = data_config_for(model, model_path, crop_margin)
    pred = predict_records(model, records, data_cfg, decode=decode, batch_size=batch_size)
    report = build_report(pred, model.model_config.scheme, normalizer)
    report.update(model=os.path.abspath(model_path), records=records, decode=decode,
                  normalizer=normalizer or default_normalizer(model.model_config.scheme))
    nmes = report.pop("nmes")
    os.makedirs(output_dir, exist_ok=True)
    plot_ced({os.path.basename(os.path.normpath(model_path)): nmes},
             os.path.join(output_dir, "ced.png"), threshold=0.1)
    with open(os.path.join(output_dir, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2)
    return report
