"""Exported-model benchmark: TFLite size, latency and NME per quantization mode.

    python -m bench.export --compact_model=/tmp/compact.keras --mobile_model=/tmp/mobile.keras \
        --records='/tmp/300w/lfpw-*.tfrecord' --mediapipe_tflite=/tmp/face_landmark.tflite \
        --out=bench/results/export.json

For each model and each of ``float32``, ``float16``, ``dynamic``, ``int8``: the ``.tflite``
size, the single-image latency (median of ``--runs`` invocations after ``--warmup``, with
1 and 2 interpreter threads, ``ai_edge_litert``) and the NME (inter-ocular, percent) on the
evaluation crops of ``--records`` beside the Keras model's NME. Every TFLite row also has
``nme_gap_vs_float32``: the mean over faces of (its NME - the float32 model's NME) on the same
faces, with ``nme_gap_ci95``, the 95 % bootstrap interval of that mean over faces
(``awing_tf.metrics.paired_difference_ci``). ``int8`` uses the measured activation ranges
(``export.calibration``); the rows ``int8_converter_ranges``, ``int8_exact_ranges`` and
``int8_float_head`` show the converter's own ranges, unclipped measured ones, and the last
stack's heatmap layer kept in float; ``int8_selective`` (when int8 misses float32 by more
than ``--selective_threshold``) keeps the debugger's most sensitive tensors in float.
``--compact_qat_model`` / ``--mobile_qat_model`` (the model after ``export.qat``'s
quantization-aware fine-tuning) add ``qat_float32`` and ``int8_qat``, whose gaps are to the
original model's float32 row.

MediaPipe's ``face_landmark.tflite`` (``--mediapipe_tflite``) is timed with the same
interpreter and thread counts; the benchmark never downloads it (``bench.mediapipe_reference``
says how to obtain it once). Without the flag ``results.mediapipe`` is ``null`` and
``ratios`` is empty. ``machine_at_start`` records the CPU model, cores and load average.

Training the models to benchmark (a time budget, ``--precision=auto``'s policy;
``bench.export_training``)::

    python -m bench.export --train_preset=mobile --train_records='/tmp/300w/helen-*' \
        --train_minutes=12 --save_model=/tmp/mobile.keras
"""

from __future__ import annotations

import json
import os
import platform
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from bench.export_rows import INT8_VARIANTS, RowSettings, model_rows  # noqa: E402
from bench.harness.machine import machine_info  # noqa: E402
from bench.harness.results import load_json, write_json  # noqa: E402
from bench.mediapipe_reference import (  # noqa: E402
    check_model_file,
    latency_ratios,
    mediapipe_row,
)

FLAGS = flags.FLAGS
flags.DEFINE_string("compact_model", None, "A trained `compact` FaceAligner (.keras).")
flags.DEFINE_string("mobile_model", None, "A trained `mobile` FaceAligner (.keras).")
flags.DEFINE_string("compact_qat_model", None,
                    "--compact_model after quantization-aware fine-tuning (export.qat): adds "
                    "the rows qat_float32 and int8_qat, compared with the original float32.")
flags.DEFINE_string("mobile_qat_model", None, "Likewise for --mobile_model.")
flags.DEFINE_string("records", None, "Glob of evaluation TFRecords (NME).")
flags.DEFINE_string("calibration_records", None,
                    "Glob of TFRecords for the int8 representative dataset (default --records).")
flags.DEFINE_integer("calibration_samples", 100, "Representative crops for int8.")
flags.DEFINE_string("out", "bench/results/export.json", "Where to write the JSON.")
flags.DEFINE_string("mediapipe_tflite", None,
                    "MediaPipe's face_landmark.tflite, obtained once beforehand: "
                    "`pip download --no-deps mediapipe==0.10.14` and unzip "
                    "mediapipe/modules/face_landmark/face_landmark.tflite from the wheel. "
                    "Without it the MediaPipe row is null.")
flags.DEFINE_list("modes", ["float32", "float16", "dynamic", "int8"], "TFLite modes.")
flags.DEFINE_integer("warmup", 10, "Untimed invocations before timing.")
flags.DEFINE_integer("runs", 100, "Timed invocations (median reported).")
flags.DEFINE_string("save_tflite_dir", None, "Optional folder to keep the .tflite files in.")
flags.DEFINE_float("selective_threshold", 0.1,
                   "If int8 NME exceeds float32 NME by more than this (points), also build "
                   "int8_selective with the most sensitive tensors kept float.")
flags.DEFINE_integer("selective_count", 5, "Tensors kept float in int8_selective.")
flags.DEFINE_list("int8_variants", list(INT8_VARIANTS),
                  "Extra int8 rows: converter_ranges (the TFLite calibrator's recorded "
                  "ranges), exact_ranges (measured min/max, no percentile clipping), "
                  "float_head (the last stack's heatmap layer kept float).")
flags.DEFINE_string("train_preset", None, "Train this preset instead of benchmarking.")
flags.DEFINE_string("train_records", None, "Glob of training TFRecords (with --train_preset).")
flags.DEFINE_float("train_minutes", 12.0, "Training time budget in minutes.")
flags.DEFINE_integer("train_batch_size", 16, "Training batch size.")
flags.DEFINE_float("train_learning_rate", 2.5e-4, "RMSProp learning rate.")
flags.DEFINE_string("save_model", None, "Where the trained .keras goes (with --train_preset).")


def _models() -> list[tuple[str, str, str | None]]:
    """``(name, model path, quantization-aware fine-tuned path)`` of the models given."""
    return [(name, path, qat) for name, path, qat in (
        ("compact", FLAGS.compact_model, FLAGS.compact_qat_model),
        ("mobile", FLAGS.mobile_model, FLAGS.mobile_qat_model)) if path]


def row_settings() -> RowSettings:
    """The flags' measurement settings; checks them first (``app.UsageError``)."""
    if not FLAGS.records:
        raise app.UsageError("--records is required")
    unknown = [v for v in FLAGS.int8_variants if v not in INT8_VARIANTS]
    if unknown:
        raise app.UsageError(f"--int8_variants: unknown {unknown}; choose from "
                             f"{list(INT8_VARIANTS)}")
    if FLAGS.mediapipe_tflite:
        try:
            check_model_file(FLAGS.mediapipe_tflite)
        except FileNotFoundError as err:
            raise app.UsageError(str(err)) from None
    out_dir = FLAGS.save_tflite_dir or tempfile.mkdtemp(prefix="bench_export_")
    os.makedirs(out_dir, exist_ok=True)
    return RowSettings(
        records=FLAGS.records, calibration_records=FLAGS.calibration_records or FLAGS.records,
        calibration_samples=FLAGS.calibration_samples, modes=tuple(FLAGS.modes),
        warmup=FLAGS.warmup, runs=FLAGS.runs, selective_threshold=FLAGS.selective_threshold,
        selective_count=FLAGS.selective_count, int8_variants=tuple(FLAGS.int8_variants),
        out_dir=out_dir)


def benchmark() -> dict:
    """Runs everything the flags ask for; returns the JSON document."""
    machine = machine_info()
    settings = row_settings()
    results: dict = {}
    for name, path, qat_path in _models():
        results[name] = model_rows(name, path, settings, qat_path)
    if FLAGS.mediapipe_tflite:
        results["mediapipe"] = mediapipe_row(FLAGS.mediapipe_tflite, FLAGS.warmup, FLAGS.runs)
    else:
        logging.info("no --mediapipe_tflite: the MediaPipe row is null")
        results["mediapipe"] = None
    return {"results": results, "ratios": latency_ratios(results),
            "settings": _settings(), "machine_at_start": machine}


def _settings() -> dict:
    import ai_edge_litert
    import tensorflow as tf

    models = {}
    for name, path in (("compact", FLAGS.compact_model), ("mobile", FLAGS.mobile_model),
                       ("compact_qat", FLAGS.compact_qat_model),
                       ("mobile_qat", FLAGS.mobile_qat_model)):
        if path and os.path.isfile(path + ".train.json"):
            models[name] = load_json(path + ".train.json")
    return {"records": FLAGS.records,
            "calibration_records": FLAGS.calibration_records or FLAGS.records,
            "calibration_samples": FLAGS.calibration_samples, "warmup": FLAGS.warmup,
            "runs": FLAGS.runs, "nme": "inter-ocular (36/45), percent, on evaluation crops",
            "latency": "median single-image invoke, ai_edge_litert Interpreter; keras: "
                       "tf.function forward, float32, intra-op threads = 1 / 2",
            "training": models, "tensorflow": tf.__version__,
            "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"),
            "ai_edge_litert": getattr(ai_edge_litert, "__version__", "?"),
            "python": platform.python_version(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "load_average_at_end": os.getloadavg()}


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.train_preset:
        if not FLAGS.train_records or not FLAGS.save_model:
            raise app.UsageError("--train_preset needs --train_records and --save_model")
        from bench.export_training import train_for_minutes

        train_for_minutes(FLAGS.train_preset, FLAGS.train_records, FLAGS.train_minutes,
                          FLAGS.save_model, FLAGS.train_batch_size, FLAGS.train_learning_rate)
        return
    doc = benchmark()
    write_json(FLAGS.out, doc)
    print(json.dumps(doc["results"], indent=1))
    print(json.dumps(doc["ratios"], indent=1))


if __name__ == "__main__":
    app.run(main)
