"""The rows of the export benchmark for one trained model: its Keras row and one row per
TFLite conversion (size, latency with 1 and 2 threads, NME, gap to float32)."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from absl import logging

from bench.export_accuracy import eval_crops, face_nmes, tflite_face_nmes
from bench.harness.latency import keras_latency, tflite_latency

if TYPE_CHECKING:
    from awing_tf.models.face_aligner import FaceAligner

# the extra int8 rows: their names after ``int8_``
INT8_VARIANTS = ("converter_ranges", "exact_ranges", "float_head")
CONVERTER_DEFAULT = -1.0  # calibration_percentile: the converter's default percentile


@dataclasses.dataclass(frozen=True)
class RowSettings:
    """What every row of the export benchmark is measured with.

    ``records``: evaluation TFRecords (NME); ``calibration_records``: the int8
    representative crops' (``calibration_samples`` of them); ``modes``: TFLite conversions;
    ``warmup``/``runs``: latency invocations; int8 rows: ``int8_variants`` (of
    :data:`INT8_VARIANTS`), and ``int8_selective`` with the ``selective_count`` most sensitive
    tensors in float when int8 misses float32 by more than ``selective_threshold`` points;
    ``out_dir``: where the ``.tflite`` files go.
    """

    records: str
    calibration_records: str
    calibration_samples: int
    modes: tuple[str, ...]
    warmup: int
    runs: int
    selective_threshold: float
    selective_count: int
    int8_variants: tuple[str, ...]
    out_dir: str


def add_gaps(res: dict, per_face: dict[str, np.ndarray], reference: str = "float32") -> None:
    """Adds ``nme_gap_vs_<reference>`` and ``nme_gap_ci95`` to every other row of ``res``."""
    from awing_tf.metrics import paired_difference_ci

    if reference not in per_face:
        return
    for mode, values in per_face.items():
        if mode == reference:
            continue
        gap, low, high = paired_difference_ci(values, per_face[reference])
        res[mode][f"nme_gap_vs_{reference}"] = gap
        res[mode]["nme_gap_ci95"] = [low, high]


def tflite_row(model: FaceAligner, mode: str, dataset: Any, crops: np.ndarray, gt: np.ndarray,
               name: str, settings: RowSettings, denylisted_nodes: list[str] | None = None,
               suffix: str = "", calibration_percentile: float | None = CONVERTER_DEFAULT,
               float_layers: list[str] | None = None) -> tuple[dict, np.ndarray]:
    """Converts ``model`` to a ``mode`` TFLite file in ``settings.out_dir``; returns its row
    and its per-face NMEs. ``calibration_percentile=CONVERTER_DEFAULT`` means
    ``export.calibration``'s default."""
    from export import calibration, tflite

    if calibration_percentile == CONVERTER_DEFAULT:
        calibration_percentile = calibration.DEFAULT_PERCENTILE
    start = time.perf_counter()
    data = tflite.convert(model, mode, dataset if mode == "int8" else None,
                          denylisted_nodes=denylisted_nodes,
                          calibration_percentile=calibration_percentile,
                          float_layers=float_layers)
    seconds = time.perf_counter() - start
    suffix = suffix or ("_selective" if denylisted_nodes else "")
    path = os.path.join(settings.out_dir, f"{name}_{mode}{suffix}.tflite")
    with open(path, "wb") as f:
        f.write(data)
    per_face = tflite_face_nmes(path, crops, gt, model.model_config.scheme)
    entry = {"size_bytes": len(data), "convert_seconds": round(seconds, 1),
             "nme": float(per_face.mean()),
             "latency_ms_1t": tflite_latency(path, 1, settings.warmup, settings.runs),
             "latency_ms_2t": tflite_latency(path, 2, settings.warmup, settings.runs)}
    logging.info("%s %s%s: %s", name, mode, suffix, entry)
    return entry, per_face


def _int8_variant_options(model: FaceAligner) -> dict[str, dict]:
    head = [f"heatmaps_{model.model_config.num_stacks - 1}"]
    return {"converter_ranges": {"calibration_percentile": None},
            "exact_ranges": {"calibration_percentile": 100.0},
            "float_head": {"float_layers": head}}


def model_rows(name: str, model_path: str, settings: RowSettings,
               qat_path: str | None = None) -> dict:
    """``{row: {nme, size_bytes, latency_ms_1t, latency_ms_2t, ...}}`` of one model: its
    Keras row, the TFLite modes, the int8 variants, ``int8_selective`` when int8 loses too
    much, and ``qat_float32``/``int8_qat`` of its quantization-aware fine-tuned version at
    ``qat_path``; every TFLite row with its gap to float32."""
    from awing_tf.models.face_aligner import load_aligner
    from export import tflite

    model = load_aligner(model_path)
    mc = model.model_config
    crops, gt = eval_crops(settings.records, mc)
    calib = tflite.representative_crops(settings.calibration_records, mc,
                                        settings.calibration_samples)
    dataset = tflite.as_representative_dataset(calib)
    per_face = {"keras": face_nmes(model.predict_landmarks(crops), gt, mc.scheme)}
    res: dict = {"keras": {
        "nme": float(per_face["keras"].mean()),
        "params": int(model.count_params()), "num_eval_faces": len(crops),
        "latency_ms_1t": keras_latency(model_path, 1, settings.warmup, settings.runs),
        "latency_ms_2t": keras_latency(model_path, 2, settings.warmup, settings.runs)}}
    logging.info("%s keras: %s", name, res["keras"])

    def add(row: str, *args: Any, **kwargs: Any) -> None:
        res[row], per_face[row] = tflite_row(*args, crops, gt, name, settings, **kwargs)

    for mode in settings.modes:
        add(mode, model, mode, dataset)
    variants = _int8_variant_options(model)
    for variant in settings.int8_variants if "int8" in settings.modes else ():
        add(f"int8_{variant}", model, "int8", dataset, suffix=f"_{variant}",
            **variants[variant])
    int8_loss = res.get("int8", {}).get("nme", 0.0) - res.get("float32", {}).get("nme", 0.0)
    if "int8" in res and int8_loss > settings.selective_threshold:
        sensitive = tflite.layer_sensitivity(model, dataset)[:settings.selective_count]
        add("int8_selective", model, "int8", dataset,
            denylisted_nodes=[r["tensor_name"] for r in sensitive])
        res["int8_selective"]["denylisted_nodes"] = sensitive
    if qat_path:
        qat_model = load_aligner(qat_path)
        if qat_model.model_config != mc:
            raise ValueError(f"{qat_path}: not the architecture of {model_path}")
        for mode, row in (("float32", "qat_float32"), ("int8", "int8_qat")):
            add(row, qat_model, mode, dataset, suffix="_qat")
    add_gaps(res, per_face)
    return res
