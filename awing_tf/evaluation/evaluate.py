"""Evaluating a saved model on TFRecords: report.json, ced.png and the report dict."""

from __future__ import annotations

import json
import os

from awing_tf.evaluation.ced_plot import plot_ced
from awing_tf.evaluation.predictions import predict_records
from awing_tf.evaluation.report import build_report
from awing_tf.models.loading import inference_config, load_model, resolve_model_path


def evaluate(model_path: str, records: str, output_dir: str, normalizer: str | None = None,
             decode: str = "quarter_offset", crop_margin: float | None = None,
             batch_size: int = 16, flip_test: bool = False) -> dict:
    """Evaluates the model at ``model_path`` on ``records``; writes ``report.json`` and
    ``ced.png`` into ``output_dir`` and returns the report.

    ``normalizer``: default the scheme's (300W/WFLW inter-ocular, COFW inter-pupil, LSP
    torso); ``crop_margin``: default the model's run's; ``flip_test``: average each face's
    heatmaps with those of its mirror image.
    """
    model_file = os.path.abspath(resolve_model_path(model_path))  # checked once
    model = load_model(model_file)
    config = inference_config(model, model_path, crop_margin, batch_size)
    pred = predict_records(model, records, config, decode=decode, flip_test=flip_test)
    scheme = model.spec.landmark_scheme
    report = build_report(pred, scheme.name, normalizer)
    report.update(model=model_file, records=records, decode=decode, flip_test=flip_test,
                  normalizer=normalizer or scheme.default_normalizer)
    nmes = report.pop("nmes")
    os.makedirs(output_dir, exist_ok=True)
    plot_ced({os.path.basename(os.path.normpath(model_path)): nmes},
             os.path.join(output_dir, "ced.png"), threshold=0.1)
    with open(os.path.join(output_dir, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2)
    return report
