"""Which tensors int8 hurts most: per-tensor error of the full-int8 model.

The TFLite quantization debugger runs the float and the int8 activation of every quantized
tensor on the same (int8 model's) input; ``layer_sensitivity`` ranks the tensors by that
error in quantization steps, the list ``convert(..., denylisted_nodes=...)`` picks from.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from export import calibration
from export.representative import RepresentativeDataset
from export.tflite.conversion import configure, heatmap_converter

if TYPE_CHECKING:
    from awing_tf.models.face_aligner import FaceAligner


def layer_sensitivity(model: FaceAligner, representative_dataset: RepresentativeDataset,
                      calibration_percentile: float | None = calibration.DEFAULT_PERCENTILE
                      ) -> list[dict]:
    """Per-tensor int8 error of the full-int8 model (TFLite quantization debugger).

    Args:
      model: a ``FaceAligner``.
      representative_dataset: calibration and debug crops ``[(1, S, S, 3) float32]``.
      calibration_percentile: the activation ranges, as in ``convert`` (``None``: the
        converter's own).

    Returns:
      One dict per quantized tensor (``tensor_name``, ``op_name``, ``rmse/scale``,
      ``num_elements``), most sensitive first: ``rmse/scale`` is the RMS difference between
      the float and the dequantized int8 activation, given the same (int8 model's) input,
      divided by the quantization step.
    """
    converter = heatmap_converter(model)
    configure(converter, "int8", representative_dataset)
    if calibration_percentile is None:
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=representative_dataset)
    else:
        calibrated = calibration.calibrated_float_model(converter)
        ranges = calibration.measure_ranges(calibrated, representative_dataset,
                                            calibration_percentile)
        debug_model = calibration.quantize(calibration.with_ranges(calibrated, ranges),
                                           numeric_verify=True)
        debugger = tf.lite.experimental.QuantizationDebugger(
            quant_debug_model_content=debug_model, debug_dataset=representative_dataset)
    debugger.run()
    return sorted(_statistics_rows(debugger), key=lambda r: -r["rmse/scale"])


def _statistics_rows(debugger: tf.lite.experimental.QuantizationDebugger) -> list[dict]:
    """The debugger's per-layer statistics (its CSV dump) as ``tensor_name``, ``op_name``,
    ``rmse/scale`` and ``num_elements``, in the dump's order."""
    buffer = io.StringIO()
    debugger.layer_statistics_dump(buffer)
    buffer.seek(0)
    rows = []
    for row in csv.DictReader(buffer):
        scale = float(row["scale"]) or 1.0
        rows.append({"tensor_name": row["tensor_name"], "op_name": row["op_name"],
                     "rmse/scale": float(np.sqrt(float(row["mean_squared_error"]))) / scale,
                     "num_elements": int(float(row["num_elements"]))})
    return rows
