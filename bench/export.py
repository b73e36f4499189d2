"""Exported-model benchmark: TFLite size, latency and NME per quantization mode.

    python -m bench.export --compact_model=/tmp/compact.keras --mobile_model=/tmp/mobile.keras \
        --records='/tmp/300w/lfpw-*.tfrecord' --out=bench/results/export.json

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
original model's float32 row. MediaPipe's
``face_landmark.tflite`` is timed with the same interpreter and thread counts
(``--mediapipe_tflite``, downloaded from the ``mediapipe==0.10.14`` wheel when absent).

Training the models to benchmark (a time budget, ``--precision=auto``'s policy)::

    python -m bench.export --train_preset=mobile --train_records='/tmp/300w/helen-*' \
        --train_minutes=12 --save_model=/tmp/mobile.keras
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

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
                    "MediaPipe face_landmark.tflite; downloaded from the wheel if not given.")
flags.DEFINE_list("modes", ["float32", "float16", "dynamic", "int8"], "TFLite modes.")
flags.DEFINE_integer("warmup", 10, "Untimed invocations before timing.")
flags.DEFINE_integer("runs", 100, "Timed invocations (median reported).")
flags.DEFINE_string("save_tflite_dir", None, "Optional folder to keep the .tflite files in.")
flags.DEFINE_float("selective_threshold", 0.1,
                   "If int8 NME exceeds float32 NME by more than this (points), also build "
                   "int8_selective with the most sensitive tensors kept float.")
flags.DEFINE_integer("selective_count", 5, "Tensors kept float in int8_selective.")
flags.DEFINE_list("int8_variants", ["converter_ranges", "exact_ranges", "float_head"],
                  "Extra int8 rows: converter_ranges (the TFLite calibrator's recorded "
                  "ranges), exact_ranges (measured min/max, no percentile clipping), "
                  "float_head (the last stack's heatmap layer kept float).")
flags.DEFINE_string("train_preset", None, "Train this preset instead of benchmarking.")
flags.DEFINE_string("train_records", None, "Glob of training TFRecords (with --train_preset).")
flags.DEFINE_float("train_minutes", 12.0, "Training time budget in minutes.")
flags.DEFINE_integer("train_batch_size", 16, "Training batch size.")
flags.DEFINE_float("train_learning_rate", 2.5e-4, "RMSProp learning rate.")
flags.DEFINE_string("save_model", None, "Where the trained .keras goes (with --train_preset).")

MEDIAPIPE_WHEEL = "mediapipe==0.10.14"
MEDIAPIPE_MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"


# === Training ===


def train(preset_name: str, records: str, minutes: float, save_path: str,
          batch_size: int = 16, learning_rate: float = 2.5e-4) -> dict:
    """Trains a ``preset_name`` FaceAligner for ``minutes``, saves ``.keras``.

    AWing loss with the weight map on every stack (``compile_for_training``), RMSProp with a
    constant learning rate, the training pipeline's augmentation. Returns a summary dict.
    """
    import keras

    from awing_tf.training import resolve_precision

    policy = resolve_precision("auto")
    keras.mixed_precision.set_global_policy(policy)
    from awing_tf.callbacks import TimeBudget

    from awing_tf.config import preset
    from awing_tf.data.pipeline import make_dataset
    from awing_tf.models.face_aligner import FaceAligner
    from awing_tf.training import compile_for_training

    cfg = preset(preset_name)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, batch_size=batch_size))
    ds = make_dataset(records, cfg.data, training=True, num_stacks=cfg.model.num_stacks)
    model = FaceAligner(cfg.model)
    steps = 20
    optimizer = keras.optimizers.RMSprop(learning_rate, rho=0.99, epsilon=1e-8,
                                         weight_decay=cfg.train.weight_decay)
    compile_for_training(model, cfg, steps_per_epoch=steps, optimizer=optimizer)
    budget = TimeBudget(minutes, per_batch=True)
    start = time.perf_counter()
    history = model.fit(ds, epochs=100000, steps_per_epoch=steps, callbacks=[budget], verbose=2)
    seconds = time.perf_counter() - start
    model.save(save_path)
    epochs = len(history.history["loss"])
    summary = {"preset": preset_name, "params": int(model.count_params()),
               "train_seconds": round(seconds, 1), "epochs": epochs, "steps": epochs * steps,
               "batch_size": batch_size, "learning_rate": learning_rate,
               "precision": policy, "records": records, "final_loss":
               float(history.history["loss"][-1])}
    logging.info("trained: %s", summary)
    with open(save_path + ".train.json", "w") as f:
        json.dump(summary, f, indent=2)
    return summary


# === Evaluation data ===


def eval_crops(records: str, model_config, limit: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(crops (N, S, S, 3) float32 in [0, 1], landmarks (N, K, 2) crop px)`` of the
    evaluation pipeline (square box crop, no augmentation)."""
    from awing_tf.config import DataConfig
    from awing_tf.data.pipeline import make_dataset

    cfg = DataConfig(scheme=model_config.scheme, input_size=model_config.input_size,
                     heatmap_size=model_config.heatmap_size,
                     use_boundary=model_config.use_boundary, batch_size=16)
    crops, points = [], []
    for images, _, meta in make_dataset(records, cfg, training=False, with_metadata=True):
        crops.append(images.numpy())
        points.append(meta["landmarks"].numpy())
        if limit and sum(len(c) for c in crops) >= limit:
            break
    return np.concatenate(crops)[:limit], np.concatenate(points)[:limit]


def face_nmes(pred: np.ndarray, gt: np.ndarray, scheme: str) -> np.ndarray:
    """``(N,)`` inter-ocular NME per face in percent (crop pixels: the crop is a similarity
    of the image)."""
    from awing_tf.metrics import nme, normalizer_distance

    return 100.0 * nme(pred, gt, normalizer_distance(gt, scheme, "inter_ocular"))



# === Latency ===


def median_ms(fn, warmup: int, runs: int) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000.0 * statistics.median(times)


def tflite_latency(path: str, threads: int, warmup: int, runs: int) -> float:
    """Median single-image ``invoke`` time of a ``.tflite`` (ai_edge_litert), ms."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    for d in it.get_input_details():
        x = np.random.default_rng(0).uniform(0, 1, d["shape"]).astype(d["dtype"])
        it.set_tensor(d["index"], x)
    return median_ms(it.invoke, warmup, runs)


def keras_latency(model_path: str, threads: int, warmup: int, runs: int) -> float:
    """Median single-image forward time of the Keras model (tf.function, float32), ms.

    Runs in a subprocess: TensorFlow's thread pools are fixed at start-up.
    """
    code = (
        "import os, sys, json; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2';"
        "import tensorflow as tf; t = int(sys.argv[2]);"
        "tf.config.threading.set_intra_op_parallelism_threads(t);"
        "tf.config.threading.set_inter_op_parallelism_threads(1);"
        "import numpy as np; from bench.export import median_ms;"
        "from awing_tf.models.face_aligner import load_aligner;"
        "m = load_aligner(sys.argv[1]); s = m.input_size;"
        "x = tf.constant(np.random.default_rng(0).uniform(0, 1, (1, s, s, 3)), tf.float32);"
        "f = tf.function(lambda x: m(x, training=False));"
        "print(json.dumps(median_ms(lambda: [o.numpy() for o in f(x)], int(sys.argv[3]),"
        " int(sys.argv[4]))))"
    )
    res = subprocess.run([sys.executable, "-c", code, model_path, str(threads), str(warmup),
                          str(runs)], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return float(res.stdout.strip().splitlines()[-1])


# === MediaPipe reference ===


def mediapipe_model(path: str | None) -> str:
    """``path`` if it exists, else ``face_landmark.tflite`` unzipped from the 0.10.14 wheel."""
    if path and os.path.isfile(path):
        return path
    tmp = tempfile.mkdtemp(prefix="mediapipe_")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", MEDIAPIPE_WHEEL,
                    "-d", tmp], check=True, capture_output=True)
    wheel = glob.glob(os.path.join(tmp, "mediapipe-*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        z.extract(MEDIAPIPE_MEMBER, tmp)
    return os.path.join(tmp, MEDIAPIPE_MEMBER)


# === Per model ===


def tflite_face_nmes(path: str, crops: np.ndarray, gt: np.ndarray, scheme: str) -> np.ndarray:
    """``(N,)`` per-face NMEs (percent) of a ``.tflite`` on the crops."""
    from export.runner import TFLiteLandmarker

    landmarker = TFLiteLandmarker(path, num_threads=2)
    pred = np.stack([landmarker.predict_crop(c)[0] for c in crops])
    return face_nmes(pred, gt, scheme)


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


def sensitive_tensors(model, dataset, count: int) -> list[dict]:
    from export.tflite import layer_sensitivity

    return layer_sensitivity(model, dataset)[:count]


def bench_model(name: str, model_path: str, out_dir: str, qat_path: str | None = None
                ) -> dict:
    """``{mode: {nme, size_bytes, latency_ms_1t, latency_ms_2t, ...}}`` of one model (and
    of its quantization-aware fine-tuned version at ``qat_path``)."""
    from awing_tf.models.face_aligner import load_aligner
    from export import tflite

    model = load_aligner(model_path)
    mc = model.model_config
    crops, gt = eval_crops(FLAGS.records, mc)
    calib = tflite.representative_crops(FLAGS.calibration_records or FLAGS.records, mc,
                                        FLAGS.calibration_samples)
    dataset = tflite.as_representative_dataset(calib)
    per_face = {"keras": face_nmes(model.predict_landmarks(crops), gt, mc.scheme)}
    res: dict = {"keras": {
        "nme": float(per_face["keras"].mean()),
        "params": int(model.count_params()), "num_eval_faces": len(crops),
        "latency_ms_1t": keras_latency(model_path, 1, FLAGS.warmup, FLAGS.runs),
        "latency_ms_2t": keras_latency(model_path, 2, FLAGS.warmup, FLAGS.runs)}}
    logging.info("%s keras: %s", name, res["keras"])
    for mode in FLAGS.modes:
        res[mode], per_face[mode] = _bench_tflite(model, mode, dataset, crops, gt, out_dir,
                                                  name)
    head = [f"heatmaps_{mc.num_stacks - 1}"]
    variants = {"converter_ranges": {"calibration_percentile": None},
                "exact_ranges": {"calibration_percentile": 100.0},
                "float_head": {"float_layers": head}}
    for variant in FLAGS.int8_variants if "int8" in FLAGS.modes else []:
        if variant not in variants:
            raise app.UsageError(f"--int8_variants: unknown {variant!r}; "
                                 f"choose from {sorted(variants)}")
        row = f"int8_{variant}"
        res[row], per_face[row] = _bench_tflite(model, "int8", dataset, crops, gt, out_dir,
                                                name, suffix=f"_{variant}",
                                                **variants[variant])
    int8_loss = res.get("int8", {}).get("nme", 0.0) - res.get("float32", {}).get("nme", 0.0)
    if "int8" in res and int8_loss > FLAGS.selective_threshold:
        rows = sensitive_tensors(model, dataset, FLAGS.selective_count)
        names = [r["tensor_name"] for r in rows]
        entry, per_face["int8_selective"] = _bench_tflite(model, "int8", dataset, crops, gt,
                                                          out_dir, name,
                                                          denylisted_nodes=names)
        entry["denylisted_nodes"] = rows
        res["int8_selective"] = entry
    if qat_path:
        qat_model = load_aligner(qat_path)
        if qat_model.model_config != mc:
            raise app.UsageError(f"{qat_path}: not the architecture of {model_path}")
        for mode, row in (("float32", "qat_float32"), ("int8", "int8_qat")):
            res[row], per_face[row] = _bench_tflite(qat_model, mode, dataset, crops, gt,
                                                    out_dir, name, suffix="_qat")
    add_gaps(res, per_face)
    return res


def _bench_tflite(model, mode: str, dataset, crops, gt, out_dir: str, name: str,
                  denylisted_nodes: list[str] | None = None, suffix: str = "",
                  calibration_percentile: float | None = -1.0,
                  float_layers: list[str] | None = None) -> tuple[dict, np.ndarray]:
    """One TFLite row and its per-face NMEs; ``calibration_percentile=-1`` means the
    converter's default."""
    from export import calibration, tflite

    if calibration_percentile == -1.0:
        calibration_percentile = calibration.DEFAULT_PERCENTILE
    t = time.perf_counter()
    data = tflite.convert(model, mode, dataset if mode == "int8" else None,
                          denylisted_nodes=denylisted_nodes,
                          calibration_percentile=calibration_percentile,
                          float_layers=float_layers)
    seconds = time.perf_counter() - t
    suffix = suffix or ("_selective" if denylisted_nodes else "")
    path = os.path.join(out_dir, f"{name}_{mode}{suffix}.tflite")
    with open(path, "wb") as f:
        f.write(data)
    per_face = tflite_face_nmes(path, crops, gt, model.model_config.scheme)
    entry = {"size_bytes": len(data), "convert_seconds": round(seconds, 1),
             "nme": float(per_face.mean()),
             "latency_ms_1t": tflite_latency(path, 1, FLAGS.warmup, FLAGS.runs),
             "latency_ms_2t": tflite_latency(path, 2, FLAGS.warmup, FLAGS.runs)}
    logging.info("%s %s%s: %s", name, mode, suffix, entry)
    return entry, per_face


def benchmark() -> dict:
    """Runs everything the flags ask for; returns the JSON document."""
    if not FLAGS.records:
        raise app.UsageError("--records is required")
    out_dir = FLAGS.save_tflite_dir or tempfile.mkdtemp(prefix="bench_export_")
    os.makedirs(out_dir, exist_ok=True)
    results: dict = {}
    for name, path, qat_path in (("compact", FLAGS.compact_model, FLAGS.compact_qat_model),
                                 ("mobile", FLAGS.mobile_model, FLAGS.mobile_qat_model)):
        if path:
            results[name] = bench_model(name, path, out_dir, qat_path)
    mp = mediapipe_model(FLAGS.mediapipe_tflite)
    results["mediapipe"] = {
        "model": f"{MEDIAPIPE_WHEEL}:{MEDIAPIPE_MEMBER}", "size_bytes": os.path.getsize(mp),
        "latency_ms_1t": tflite_latency(mp, 1, FLAGS.warmup, FLAGS.runs),
        "latency_ms_2t": tflite_latency(mp, 2, FLAGS.warmup, FLAGS.runs)}
    doc = {"results": results, "ratios": _ratios(results), "settings": _settings()}
    return doc


def _ratios(results: dict) -> dict:
    """Our latency / MediaPipe's, for every TFLite mode of the mobile model."""
    mp = results["mediapipe"]
    out = {}
    for mode, entry in results.get("mobile", {}).items():
        if mode != "keras":
            out[f"mobile_{mode}_over_mediapipe_1t"] = entry["latency_ms_1t"] / mp["latency_ms_1t"]
            out[f"mobile_{mode}_over_mediapipe_2t"] = entry["latency_ms_2t"] / mp["latency_ms_2t"]
    return out


def _settings() -> dict:
    import ai_edge_litert
    import tensorflow as tf

    models = {}
    for name, path in (("compact", FLAGS.compact_model), ("mobile", FLAGS.mobile_model),
                       ("compact_qat", FLAGS.compact_qat_model),
                       ("mobile_qat", FLAGS.mobile_qat_model)):
        if path and os.path.isfile(path + ".train.json"):
            with open(path + ".train.json") as f:
                models[name] = json.load(f)
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
    del argv
    if FLAGS.train_preset:
        if not FLAGS.train_records or not FLAGS.save_model:
            raise app.UsageError("--train_preset needs --train_records and --save_model")
        train(FLAGS.train_preset, FLAGS.train_records, FLAGS.train_minutes, FLAGS.save_model,
              FLAGS.train_batch_size, FLAGS.train_learning_rate)
        return
    doc = benchmark()
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    with open(FLAGS.out, "w") as f:
        json.dump(doc, f, indent=2)
    print(json.dumps(doc["results"], indent=1))
    print(json.dumps(doc["ratios"], indent=1))


if __name__ == "__main__":
    app.run(main)
