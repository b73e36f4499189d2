"""A FaceAligner as a TFLite flatbuffer in one of four modes (``QUANT_TYPES``).

The converted graph maps a ``(1, S, S, 3)`` float32 crop in [0, 1] to the last stack's
landmark heatmaps ``(1, h, w, K)`` float32; ``int8`` keeps float32 input and output tensors
(a QUANTIZE op at the input, a DEQUANTIZE at the output), so one runner feeds every mode.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import tensorflow as tf

from awing_tf.choices import QUANT_TYPES
from export import calibration
from export.representative import RepresentativeDataset
from export.tflite.selective import check_float_layers, layer_tensor_names, selective_int8

if TYPE_CHECKING:
    from awing_tf.models.face_aligner import FaceAligner


def heatmap_function(model: FaceAligner) -> tf.types.experimental.ConcreteFunction:
    """``crops (1, S, S, 3) float32 -> {"heatmaps": (1, h, w, K) float32}``, last stack.

    The concrete function captures the (float32) model's variables; it keeps them alive.
    """
    model = model.to_float32()
    size = model.input_size

    @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32, name="crops")])
    def fn(crops):
        return {"heatmaps": model.landmark_heatmaps(crops)}

    return fn.get_concrete_function()


def heatmap_converter(model: FaceAligner) -> tf.lite.TFLiteConverter:
    """A converter of ``heatmap_function(model)``, with no optimisation set yet."""
    # No trackable object: passing the Keras model makes the converter keep its variables as
    # resource variables (READ_VARIABLE ops, NaN outputs); without it they are frozen.
    return tf.lite.TFLiteConverter.from_concrete_functions([heatmap_function(model)])


def configure(converter: tf.lite.TFLiteConverter, quant_type: str,
              representative_dataset: RepresentativeDataset | None = None) -> None:
    """Sets the converter's optimisation options for ``quant_type`` (ValueError if unknown)."""
    if quant_type == "float32":
        return
    if quant_type == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quant_type == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quant_type == "int8":
        if representative_dataset is None:
            raise ValueError("quant_type 'int8' needs a representative_dataset")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    else:
        raise ValueError(f"quant_type must be one of {QUANT_TYPES}, got {quant_type!r}")


def convert(model: FaceAligner, quant_type: str = "float32",
            representative_dataset: RepresentativeDataset | None = None,
            denylisted_nodes: list[str] | None = None,
            denylisted_ops: list[str] | None = None,
            calibration_percentile: float | None = calibration.DEFAULT_PERCENTILE,
            float_layers: Iterable[str] | None = None) -> bytes:
    """A FaceAligner -> ``.tflite`` flatbuffer bytes.

    Args:
      model: a ``FaceAligner`` (any dtype policy; converted in float32).
      quant_type: one of ``float32``, ``float16``, ``dynamic``, ``int8``.
      representative_dataset: for ``int8``: a callable yielding ``[crop (1, S, S, 3) float32]``.
      denylisted_nodes, denylisted_ops: ``int8`` only: TFLite tensor names / op names
        (e.g. ``"MEAN"``) left in float (selective quantization).
      calibration_percentile: ``int8`` only: activation ranges measured on every tensor and
        clipped to this percentile (100: exact min/max; ``export.calibration``); ``None``
        uses the converter's own recorded ranges.
      float_layers: ``int8`` only: names of Keras layers of ``model`` (e.g. ``heatmaps_1``)
        whose TFLite ops stay float (added to ``denylisted_nodes``).

    Returns:
      The flatbuffer as bytes.
    """
    if quant_type not in QUANT_TYPES:
        raise ValueError(f"quant_type must be one of {QUANT_TYPES}, got {quant_type!r}")
    float_layers = list(float_layers or [])
    if (denylisted_nodes or denylisted_ops or float_layers) and quant_type != "int8":
        raise ValueError("denylisted_nodes/denylisted_ops/float_layers apply to quant_type "
                         "'int8' only")
    check_float_layers(model, float_layers)
    converter = heatmap_converter(model)
    configure(converter, quant_type, representative_dataset)
    calibrated = None
    if float_layers:
        calibrated = calibration.calibrated_float_model(converter)
        denylisted_nodes = list(denylisted_nodes or []) + layer_tensor_names(calibrated,
                                                                             float_layers)
    if quant_type == "int8" and calibration_percentile is not None:
        return calibration.int8_with_measured_ranges(
            converter, representative_dataset, calibration_percentile, denylisted_nodes,
            denylisted_ops, calibrated)
    if denylisted_nodes or denylisted_ops:
        return selective_int8(converter, representative_dataset, denylisted_nodes or [],
                              denylisted_ops or [])
    return converter.convert()
