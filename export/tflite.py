"""TFLite conversion of a FaceAligner: float32, float16, dynamic-range and full int8.

    python -m export.tflite --model=mobile.keras --quantize=int8 \
        --representative_records='/data/300w/helen-*.tfrecord' --output=mobile_int8.tflite

The converted graph maps a ``(1, S, S, 3)`` float32 crop in [0, 1] to the LAST stack's
landmark heatmaps ``(1, h, w, K)`` float32 (the boundary channel and the earlier stacks are
dropped); decoding to landmarks happens outside, in ``export.runner``.

Modes (``quant_type``):

* ``float32``: no quantization.
* ``float16``: float16 weights, float32 compute.
* ``dynamic``: int8 weights, activations quantized on the fly (dynamic range).
* ``int8``: full-integer post-training quantization of weights (per channel) and activations,
  calibrated on a representative dataset (evaluation crops from TFRecords). The model keeps
  float32 input and output tensors: a QUANTIZE op at the input and a DEQUANTIZE at the output,
  so the same runner feeds every mode. The activation ranges are measured on every tensor of
  the float graph and clipped to the 99.99th percentile (``export.calibration``: the
  converter's own calibrator records wrong ranges for tensors that an in-place op
  overwrites); ``calibration_percentile=None`` keeps the converter's ranges.
  ``denylisted_nodes`` / ``denylisted_ops`` keep chosen layers in float (selective
  quantization).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from export import calibration  # noqa: E402

QUANT_TYPES = ("float32", "float16", "dynamic", "int8")

RepresentativeDataset = Callable[[], Iterable[list[np.ndarray]]]


# === Model function ===


def heatmap_function(model) -> tf.types.experimental.ConcreteFunction:
    """``crops (1, S, S, 3) float32 -> {"heatmaps": (1, h, w, K) float32}``, last stack.

    The concrete function captures the (float32) model's variables; it keeps them alive.
    """
    model = model.to_float32()
    size = model.input_size

    @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32, name="crops")])
    def fn(crops):
        return {"heatmaps": model.landmark_heatmaps(crops)}

    return fn.get_concrete_function()


# === Conversion ===


def _converter(model) -> tf.lite.TFLiteConverter:
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


def convert(model, quant_type: str = "float32",
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
    _check_layers(model, float_layers)
    converter = _converter(model)
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


def _check_layers(model, layers: list[str]) -> None:
    """ValueError naming a requested layer that ``model`` (top level) does not have."""
    names = {layer.name for layer in model.layers}
    for name in layers:
        if name not in names:
            raise ValueError(f"float_layers: the model has no layer {name!r}")


def layer_tensor_names(tflite_model: bytes, layers: Iterable[str]) -> list[str]:
    """Names of the op outputs of ``tflite_model`` that the Keras ``layers`` produced.

    A converted op's output tensor is named after the Keras layer path it came from
    (``face_aligner_1/heatmaps_1_1/convolution1``; fused ops join several paths with
    ``;``): a layer matches a path segment equal to its name, optionally with the ``_N``
    suffix tracing adds. Raises ValueError naming a layer that produced no op.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model_t = flatbuffer_utils.read_model_from_bytearray(bytearray(tflite_model))
    graph = model_t.subgraphs[0]
    outputs = [graph.tensors[i].name.decode() for op in graph.operators for i in op.outputs]
    found = []
    for layer in layers:
        pattern = re.compile(rf"(^|/){re.escape(layer)}(_\d+)?/")
        names = [n for n in outputs if pattern.search(n)]
        if not names:
            raise ValueError(f"float_layers: layer {layer!r} produced no op in the TFLite graph")
        found.extend(n for n in names if n not in found)
    return found


def selective_int8(converter: tf.lite.TFLiteConverter,
                   representative_dataset: RepresentativeDataset,
                   denylisted_nodes: list[str], denylisted_ops: list[str]) -> bytes:
    """Full int8 except the denylisted tensors / ops, which stay float32 (the converter's
    recorded ranges, through the quantization debugger)."""
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                           tf.lite.OpsSet.TFLITE_BUILTINS]
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_nodes=denylisted_nodes, denylisted_ops=denylisted_ops)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=representative_dataset, debug_options=options)
    return debugger.get_nondebug_quantized_model()


def layer_sensitivity(model, representative_dataset: RepresentativeDataset,
                      calibration_percentile: float | None = calibration.DEFAULT_PERCENTILE
                      ) -> list[dict]:
    """Per-tensor int8 error of the full-int8 model (TFLite quantization debugger).

    Args:
      model: a ``FaceAligner``.
      representative_dataset: calibration and debug crops.
      calibration_percentile: the activation ranges, as in ``convert`` (``None``: the
        converter's own).

    Returns:
      One dict per quantized tensor (``tensor_name``, ``op_name``, ``rmse/scale``,
      ``num_elements``), most sensitive first: ``rmse/scale`` is the RMS difference between
      the float and the dequantized int8 activation, given the same (int8 model's) input,
      divided by the quantization step.
    """
    converter = _converter(model)
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
    buffer = io.StringIO()
    debugger.layer_statistics_dump(buffer)
    buffer.seek(0)
    rows = []
    for row in csv.DictReader(buffer):
        scale = float(row["scale"]) or 1.0
        rows.append({"tensor_name": row["tensor_name"], "op_name": row["op_name"],
                     "rmse/scale": float(np.sqrt(float(row["mean_squared_error"]))) / scale,
                     "num_elements": int(float(row["num_elements"]))})
    return sorted(rows, key=lambda r: -r["rmse/scale"])


# === Representative data ===


def representative_crops(file_pattern: str, model_config, num_samples: int = 100,
                         margin: float = 0.0) -> np.ndarray:
    """``(N, S, S, 3)`` float32 evaluation crops (no augmentation) from TFRecords."""
    from awing_tf.config import Config, DataConfig
    from awing_tf.data.pipeline import make_dataset

    cfg = Config.for_model(model_config, DataConfig(crop_margin=margin))
    crops = []
    for images, _ in make_dataset(file_pattern, cfg, training=False, batch_size=16):
        crops.append(images.numpy())
        if sum(len(c) for c in crops) >= num_samples:
            break
    if not crops:
        raise ValueError(f"no examples in {file_pattern!r}")
    return np.concatenate(crops)[:num_samples].astype(np.float32)


def as_representative_dataset(crops: np.ndarray) -> RepresentativeDataset:
    """``(N, S, S, 3)`` crops -> the converter's callable yielding one crop at a time."""

    def gen() -> Iterator[list[np.ndarray]]:
        for crop in crops:
            yield [crop[None].astype(np.float32)]

    return gen


# === CLI ===


def define_flags() -> None:
    flags.DEFINE_string("model", None, "A saved FaceAligner (.keras).")
    flags.DEFINE_enum("quantize", "float32", list(QUANT_TYPES), "Quantization mode.")
    flags.DEFINE_string("representative_records", None,
                        "TFRecord glob for the int8 representative dataset.")
    flags.DEFINE_integer("num_calibration", 100, "Representative crops for int8.")
    flags.DEFINE_float("margin", 0.0, "Crop margin of the representative crops.")
    flags.DEFINE_list("denylisted_nodes", [], "int8: TFLite tensor names kept in float.")
    flags.DEFINE_list("denylisted_ops", [], "int8: TFLite op names kept in float.")
    flags.DEFINE_list("float_layers", [], "int8: Keras layer names (e.g. heatmaps_1) whose "
                      "ops stay float.")
    flags.DEFINE_float("calibration_percentile", calibration.DEFAULT_PERCENTILE,
                       "int8: activation ranges measured on every tensor, clipped to this "
                       "percentile (100 = exact min/max).")
    flags.DEFINE_bool("converter_ranges", False,
                      "int8: keep the TFLite calibrator's recorded ranges instead.")
    flags.DEFINE_string("output", None, "The .tflite file to write.")
    flags.mark_flags_as_required(["model", "output"])


def main(argv: list[str]) -> None:
    del argv
    from awing_tf.models.face_aligner import load_aligner

    f = flags.FLAGS
    if f.quantize == "int8" and not f.representative_records:
        raise app.UsageError("--quantize=int8 needs --representative_records")
    if not os.path.isfile(f.model):
        raise app.UsageError(f"--model not found: {f.model}")
    model = load_aligner(f.model)
    dataset = None
    if f.quantize == "int8":
        if not model.model_config.post_activation:
            logging.warning(
                "full int8 of a pre-activation model (post_activation=False, e.g. the paper "
                "and compact presets) loses accuracy unless it was fine-tuned with "
                "`python -m export.qat` first: +0.6 and +1.4 NME points on two trained "
                "compact models, -0.18 after quantization-aware fine-tuning "
                "(BUILD_NOTES.md, Export); --quantize=dynamic keeps the accuracy (+0.02) at "
                "the same size without fine-tuning")
        crops = representative_crops(f.representative_records, model.model_config,
                                     f.num_calibration, f.margin)
        dataset = as_representative_dataset(crops)
    if not 50.0 < f.calibration_percentile <= 100.0:
        raise app.UsageError(f"--calibration_percentile must be in (50, 100], got "
                             f"{f.calibration_percentile}")
    percentile = None if f.converter_ranges else f.calibration_percentile
    try:
        data = convert(model, f.quantize, dataset, f.denylisted_nodes or None,
                       f.denylisted_ops or None, percentile, f.float_layers)
    except ValueError as err:  # an unknown layer, or a float-only option with int8
        raise app.UsageError(str(err)) from err
    with open(f.output, "wb") as fh:
        fh.write(data)
    logging.info("wrote %s (%d bytes, %s)", f.output, len(data), f.quantize)


if __name__ == "__main__":
    define_flags()
    app.run(main)
