r"""Quantization-aware fine-tuning of a saved FaceAligner, before full int8.

    python -m export.qat --model=compact.keras --train_records='/data/300w/helen-*' \
        --representative_records='/data/300w/helen-*' --output=compact_qat.keras
    python -m export.tflite --model=compact_qat.keras --quantize=int8 \
        --representative_records='/data/300w/helen-*' --output=compact_int8.tflite

Fine-tunes the float model with the output of every layer that becomes a quantized TFLite
tensor rounded to 8 bits over its range on the representative crops (straight-through
gradient), BatchNorm frozen, with the loss, augmentation and optimizer of ``--config``
(``export.qat``). Writes an ordinary ``.keras`` model, which ``export.tflite`` converts with
its usual post-training int8 path, and ``<output>.train.json`` (the command, the final loss,
the minutes taken).
"""

from __future__ import annotations

import json
import os
import time

from absl import app, flags, logging

from awing_tf import config as config_lib
from export.command_line import model_path_flag, run_export_app

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A trained float FaceAligner: .keras file, run folder or "
                    "pretrained model name.")
flags.DEFINE_string("train_records", None, "TFRecord glob to fine-tune on.")
flags.DEFINE_string("representative_records", None,
                    "TFRecord glob of the crops that set the fake-quantization ranges.")
flags.DEFINE_integer("num_calibration", 100, "Crops for the ranges.")
flags.DEFINE_enum("config", "compact", config_lib.preset_names(),
                  "Preset whose loss, augmentation and optimizer settings are used "
                  "(the architecture is the model's).")
flags.DEFINE_integer("epochs", 60, "Fine-tuning epochs (60 x 20 steps closed the "
                     "compact int8 gap, BUILD_NOTES.md).")
flags.DEFINE_integer("steps_per_epoch", 20, "Steps per epoch.")
flags.DEFINE_integer("batch_size", 16, "Batch size.")
flags.DEFINE_float("learning_rate", 1e-4,
                   "Initial learning rate (x0.1 at the preset's decay fractions).")
flags.DEFINE_integer("seed", 0, "Random seed (augmentation).")
flags.DEFINE_string("output", None, "The fine-tuned model (.keras) to write.")
flags.mark_flags_as_required(["model", "train_records", "representative_records",
                              "output"])

# The flags ``<output>.train.json`` records in its ``command``.
_RECORDED_FLAGS = ("train_records", "representative_records", "num_calibration", "config",
                   "epochs", "steps_per_epoch", "batch_size", "learning_rate", "seed")


def main(argv: list[str]) -> None:
    del argv
    f = FLAGS
    model_path = model_path_flag(f.model)
    if not f.output.endswith(".keras"):
        raise app.UsageError(f"--output must end with .keras, got {f.output}")
    for name in ("epochs", "steps_per_epoch", "batch_size", "num_calibration"):
        if getattr(f, name) < 1:
            raise app.UsageError(f"--{name} must be >= 1, got {getattr(f, name)}")
    import dataclasses

    import keras

    from awing_tf.models.loading import load_model, run_data_config
    from export.qat.fine_tuning import config_for_model, finetune
    from export.representative import representative_crops

    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(f.seed)
    model = load_model(model_path)
    base = config_lib.apply_overrides(
        config_lib.preset(f.config, model.model_config.scheme),
        [f"train.epochs={f.epochs}", f"train.batch_size={f.batch_size}",
         f"train.learning_rate={f.learning_rate}", "train.precision=float32"])
    # the crops, targets and augmentation the model was trained with
    data = dataclasses.replace(run_data_config(f.model), seed=f.seed)
    config = config_for_model(model, dataclasses.replace(base, data=data))
    import tensorflow as tf

    from awing_tf.data.pipeline import as_record_error

    start = time.perf_counter()
    try:  # RecordError names a broken shard or record of either glob
        crops = representative_crops(f.representative_records, model.model_config,
                                     f.num_calibration, data.margin_for(model.spec.scheme))
        history = finetune(model, config, f.train_records, crops, f.steps_per_epoch)
    except (ValueError, tf.errors.OpError) as err:
        named = as_record_error(err, [f.train_records, f.representative_records],
                                model.spec.num_landmarks)
        if named is None:
            raise
        raise app.UsageError(str(named)) from None
    tmp = f.output + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, f.output)
    run_file = os.path.join(os.path.dirname(os.path.abspath(f.output)), "config.json")
    if not os.path.isfile(run_file):  # the fine-tuned model's data settings, for its exports
        with open(run_file + ".tmp", "w") as fh:
            json.dump(config.to_dict(), fh, indent=2)
        os.replace(run_file + ".tmp", run_file)
    summary = {"source_model": f.model, "command": " ".join(
        ["python -m export.qat"] + [f"--{name}={getattr(f, name)}" for name in _RECORDED_FLAGS]),
        "final_loss": float(history["loss"][-1]),
        "minutes": round((time.perf_counter() - start) / 60.0, 1)}
    with open(f.output + ".train.json", "w") as fh:
        json.dump(summary, fh, indent=2)
    logging.info("wrote %s (final loss %.4f)", f.output, summary["final_loss"])


def run() -> None:
    run_export_app(main, __name__)


if __name__ == "__main__":
    run()
