"""The evaluation report: per-image NMEs, FR, AUC and per-attribute subsets (Table 1)."""

from __future__ import annotations

import numpy as np

from awing_tf.metrics import nme, normalizer_distance, summarize
from awing_tf.schemes import get_scheme


def metrics_block(nmes: np.ndarray) -> dict[str, float]:
    """The paper's numbers as reported: NME and FR in percent, AUC as a fraction."""
    s = summarize(nmes)
    return {
        "count": int(np.size(nmes)),
        "nme": s["nme"] * 100,
        "fr_8": s["fr_8"] * 100,
        "fr_10": s["fr_10"] * 100,
        "auc_8": s["auc_8"],
        "auc_10": s["auc_10"],
    }


def build_report(pred: dict[str, np.ndarray], scheme: str, normalizer: str | None) -> dict:
    """Report dict: overall metrics, per-image NMEs and the scheme's attribute subsets
    (WFLW's pose, expression, ...).

    ``pred``: ``predict_records`` output. The report keeps the per-image NMEs (fractions) in
    ``nmes``, for plots; remove it before writing JSON.
    """
    d = normalizer_distance(pred["gt"], scheme, normalizer)
    nmes = nme(pred["pred"], pred["gt"], d)
    report = {"scheme": scheme, "normalizer": normalizer, **metrics_block(nmes)}
    attrs = pred["attributes"]
    subsets = {}
    if attrs.size:
        for i, name in enumerate(get_scheme(scheme).attribute_names):
            sel = attrs[:, i] == 1
            if sel.any():
                subsets[name] = metrics_block(nmes[sel])
    report["subsets"] = subsets
    report["per_image"] = [
        {"source_id": sid.decode("utf-8", "replace"), "nme": float(e * 100)}
        for sid, e in zip(pred["source_id"], nmes, strict=True)
    ]
    report["nmes"] = nmes
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
