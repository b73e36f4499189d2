r"""Convert a saved FaceAligner to ``.tflite``: float32, float16, dynamic-range or full int8.

    python -m export.tflite --model=mobile.keras --quantize=int8 \
        --representative_records='/data/300w/helen-*.tfrecord' --output=mobile_int8.tflite

The converted graph maps a ``(1, S, S, 3)`` float32 crop in [0, 1] to the LAST stack's
landmark heatmaps ``(1, h, w, K)`` float32 (the boundary channel and the earlier stacks are
dropped); decoding to landmarks happens outside, in ``export.runner``.

Modes (``--quantize``):

* ``float32``: no quantization.
* ``float16``: float16 weights, float32 compute.
* ``dynamic``: int8 weights, activations quantized on the fly (dynamic range).
* ``int8``: full-integer post-training quantization of weights (per channel) and activations,
  calibrated on a representative dataset (evaluation crops from TFRecords). The model keeps
  float32 input and output tensors: a QUANTIZE op at the input and a DEQUANTIZE at the output,
  so the same runner feeds every mode. The activation ranges are measured on every tensor of
  the float graph and clipped to the 99.99th percentile (``export.calibration``: the
  converter's own calibrator records wrong ranges for tensors that an in-place op
  overwrites); ``--converter_ranges`` keeps the converter's ranges.
  ``--denylisted_nodes`` / ``--denylisted_ops`` / ``--float_layers`` keep chosen tensors,
  ops or layers in float (selective quantization).
"""

from __future__ import annotations

from absl import app, flags, logging

from awing_tf.choices import QUANT_TYPES
from export.calibration import DEFAULT_PERCENTILE
from export.command_line import model_path_flag, run_export_app

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A saved FaceAligner: .keras file, run folder or "
                    "pretrained model name (e.g. 300w68_compact).")
flags.DEFINE_enum("quantize", "float32", list(QUANT_TYPES), "Quantization mode.")
flags.DEFINE_string("representative_records", None,
                    "TFRecord glob for the int8 representative dataset.")
flags.DEFINE_integer("num_calibration", 100, "Representative crops for int8.")
flags.DEFINE_float("margin", None, "Crop margin of the representative crops (default: the "
                   "model's run's, or its scheme's).")
flags.DEFINE_list("denylisted_nodes", [], "int8: TFLite tensor names kept in float.")
flags.DEFINE_list("denylisted_ops", [], "int8: TFLite op names kept in float.")
flags.DEFINE_list("float_layers", [], "int8: Keras layer names (e.g. heatmaps_1) whose "
                  "ops stay float.")
flags.DEFINE_float("calibration_percentile", DEFAULT_PERCENTILE,
                   "int8: activation ranges measured on every tensor, clipped to this "
                   "percentile (100 = exact min/max).")
flags.DEFINE_bool("converter_ranges", False,
                  "int8: keep the TFLite calibrator's recorded ranges instead.")
flags.DEFINE_string("output", None, "The .tflite file to write.")
flags.mark_flags_as_required(["model", "output"])

_PRE_ACTIVATION_INT8 = (
    "full int8 of a pre-activation model (post_activation=False, e.g. the paper and compact "
    "presets) loses accuracy unless it was fine-tuned with `python -m export.qat` first: "
    "+0.6 and +1.4 NME points on two trained compact models, -0.18 after quantization-aware "
    "fine-tuning (BUILD_NOTES.md, Export); --quantize=dynamic keeps the accuracy (+0.02) at "
    "the same size without fine-tuning")


def main(argv: list[str]) -> None:
    del argv
    f = FLAGS
    if f.quantize == "int8" and not f.representative_records:
        raise app.UsageError("--quantize=int8 needs --representative_records")
    model_path = model_path_flag(f.model)
    if not 50.0 < f.calibration_percentile <= 100.0:
        raise app.UsageError(f"--calibration_percentile must be in (50, 100], got "
                             f"{f.calibration_percentile}")
    from awing_tf.models.loading import load_model, run_data_config
    from export.representative import as_representative_dataset, representative_crops
    from export.tflite.conversion import convert

    model = load_model(model_path)
    margin = f.margin if f.margin is not None else \
        run_data_config(f.model).margin_for(model.spec.scheme)
    dataset = None
    if f.quantize == "int8":
        if not model.model_config.post_activation:
            logging.warning(_PRE_ACTIVATION_INT8)
        try:  # RecordError (a ValueError) names a broken shard or record
            crops = representative_crops(f.representative_records, model.model_config,
                                         f.num_calibration, margin)
        except ValueError as err:
            raise app.UsageError(str(err)) from None
        dataset = as_representative_dataset(crops)
    percentile = None if f.converter_ranges else f.calibration_percentile
    try:
        data = convert(model, f.quantize, dataset, f.denylisted_nodes or None,
                       f.denylisted_ops or None, percentile, f.float_layers)
    except ValueError as err:  # an unknown layer, or a float-only option with int8
        raise app.UsageError(str(err)) from err
    with open(f.output, "wb") as fh:
        fh.write(data)
    logging.info("wrote %s (%d bytes, %s)", f.output, len(data), f.quantize)


def run() -> None:
    run_export_app(main, __name__)


if __name__ == "__main__":
    run()
