"""A trained model on benchmark records: its predictions and the face metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bench.harness.run_config import with_batch_size

if TYPE_CHECKING:
    from awing_tf.config import Config
    from awing_tf.models.face_aligner import FaceAligner

EVAL_BATCH = 32


def predictions(model: FaceAligner, records: str, config: Config) -> dict[str, np.ndarray]:
    """``awing_tf.evaluation.predict_records`` of ``model`` on ``records`` read with
    ``config`` (its crop settings) in batches of 32: ``pred``, ``gt``, ``visible``, ...
    in source-image pixels."""
    from awing_tf.evaluation import predict_records

    return predict_records(model, records, with_batch_size(config, EVAL_BATCH))


def face_metrics(pred: dict[str, np.ndarray], scheme: str = "300w68") -> dict[str, Any]:
    """NME inter-ocular and inter-pupil (percent), FR@10 % (percent), AUC@10 %, the face
    count and the per-image inter-ocular NMEs (fractions)."""
    from awing_tf.evaluation import build_report

    io = build_report(pred, scheme, "inter_ocular")
    ip = build_report(pred, scheme, "inter_pupil")
    return {"nme_io": round(io["nme"], 4), "nme_ip": round(ip["nme"], 4),
            "fr_10": round(io["fr_10"], 4), "auc_10": round(io["auc_10"], 5),
            "fr_10_ip": round(ip["fr_10"], 4), "auc_10_ip": round(ip["auc_10"], 5),
            "count": io["count"],
            "per_image_nme_io": [round(float(v), 6) for v in io["nmes"]]}


def nme_io(model: FaceAligner, records: str, config: Config) -> float:
    """Inter-ocular NME (percent) of ``model`` on ``records``."""
    return face_metrics(predictions(model, records, config))["nme_io"]
