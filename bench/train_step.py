"""Training-step and forward throughput of the presets, float32 vs mixed_bfloat16.

    python bench/train_step.py --out=bench/results/train_step.json

``--batch_norm=keras`` swaps the fused BatchNorm for Keras' own layer and
``--inter_op_threads``/``--intra_op_threads`` set TensorFlow's thread pools, to reproduce
the comparisons in BUILD_NOTES.md ("Performance"). ``--targets=step`` gives the step
landmarks and lets the ``FaceAligner`` encode the heatmap targets inside it, as
``awing-train`` does; the default gives it precomputed heatmaps. ``--weight_gradient=native``
turns off the matrix-product weight gradient of the large 3x3 layers
(``awing_tf.layers.conv_weight_gradient``).

Each (preset, precision) runs in its own subprocess so the peak RSS is its own. Synthetic
input, batch 8, the median of ``--steps`` timed steps after ``--warmup`` steps. Writes
``results[PRESET][PRECISION]`` with ``train_images_per_second``,
``forward_images_per_second``, ``peak_rss_gib``; ``machine_at_start`` records the CPU model,
cores and load average.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

from absl import app, flags

from bench.harness.child_process import print_result, run_for_result
from bench.harness.machine import machine_info
from bench.harness.results import write_json

FLAGS = flags.FLAGS
flags.DEFINE_string("out", "bench/results/train_step.json", "Where to write the JSON.")
flags.DEFINE_list("presets", ["compact", "paper"], "Presets to measure.")
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "Keras dtype policies.")
flags.DEFINE_integer("batch_size", 8, "Batch size.")
flags.DEFINE_integer("warmup", 2, "Untimed steps first.")
flags.DEFINE_integer("steps", 5, "Timed steps (median reported).")
flags.DEFINE_enum("batch_norm", "fused", ["fused", "keras"],
                  "fused: the library's BatchNormalization; keras: keras.layers version.")
flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow inter-op pool (0 = default).")
flags.DEFINE_integer("intra_op_threads", 0, "TensorFlow intra-op pool (0 = default).")
flags.DEFINE_enum("targets", "precomputed", ["precomputed", "step"],
                  "Heatmap targets given to the step (precomputed) or encoded in it from "
                  "landmarks (step, as awing-train trains).")
flags.DEFINE_enum("weight_gradient", "auto", ["auto", "native"],
                  "auto: large 3x3 layers take their weight gradient as a matrix product "
                  "(awing_tf.layers.conv_weight_gradient); native: Conv2DBackpropFilter.")
flags.DEFINE_string("one", None, "Internal: PRESET:PRECISION to measure in this process.")


def _use_keras_batch_norm() -> None:
    """Builds later models with ``keras.layers.BatchNormalization`` (same momentum and
    epsilon) instead of the library's fused layer."""
    import keras

    from awing_tf.layers import conv_block
    from awing_tf.models import stacked_hourglass

    def keras_batch_norm(name: str, policy=None, synchronized: bool = False):
        return keras.layers.BatchNormalization(
            momentum=conv_block.BN_MOMENTUM, epsilon=conv_block.BN_EPSILON,
            synchronized=synchronized, name=name, dtype=policy)

    conv_block.batch_norm = keras_batch_norm
    stacked_hourglass.batch_norm = keras_batch_norm


def _measure(preset_name: str, precision: str) -> dict:
    import keras
    import numpy as np

    from awing_tf.codec import HeatmapCodec
    from awing_tf.config import preset
    from awing_tf.layers.conv_weight_gradient import set_weight_gradient
    from awing_tf.models.face_aligner import FaceAligner
    from awing_tf.training import compile_for_training
    from awing_tf.training.runtime import configure_threads

    configure_threads(FLAGS.inter_op_threads, FLAGS.intra_op_threads)
    set_weight_gradient(FLAGS.weight_gradient)
    keras.mixed_precision.set_global_policy(precision)
    if FLAGS.batch_norm == "keras":
        _use_keras_batch_norm()

    cfg = preset(preset_name)
    model = FaceAligner(cfg.model)
    compile_for_training(model, cfg, steps_per_epoch=1000)
    rng = np.random.default_rng(0)
    b, s = FLAGS.batch_size, cfg.spec.input_size
    x = rng.uniform(0, 1, (b, s, s, 3)).astype("float32")
    lm = rng.uniform(0.2 * s, 0.8 * s, (b, cfg.spec.num_landmarks, 2)).astype("float32")
    if FLAGS.targets == "step":
        ys = {"landmarks": lm, "visible": np.ones(lm.shape[:2], np.float32)}
    else:
        y = HeatmapCodec(cfg.spec).encode(lm).numpy()
        ys = tuple([y] * cfg.model.num_stacks)

    train_times = []
    for i in range(FLAGS.warmup + FLAGS.steps):
        t = time.perf_counter()
        model.train_on_batch(x, ys)
        if i >= FLAGS.warmup:
            train_times.append(time.perf_counter() - t)
    fwd_times = []
    for i in range(FLAGS.warmup + FLAGS.steps):
        t = time.perf_counter()
        model.predict_on_batch(x)
        if i >= FLAGS.warmup:
            fwd_times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return {
        "train_images_per_second": b / float(np.median(train_times)),
        "forward_images_per_second": b / float(np.median(fwd_times)),
        "train_step_seconds": float(np.median(train_times)),
        "peak_rss_gib": peak,
        "parameters": int(model.count_params()),
    }


def main(argv: list[str]) -> None:
    del argv
    if FLAGS.one:
        preset_name, precision = FLAGS.one.split(":")
        print_result(_measure(preset_name, precision))
        return
    machine = machine_info()
    results: dict[str, dict[str, dict]] = {}
    for preset_name in FLAGS.presets:
        for precision in FLAGS.precisions:
            r = run_for_result([
                sys.executable, __file__, f"--one={preset_name}:{precision}",
                f"--batch_size={FLAGS.batch_size}", f"--warmup={FLAGS.warmup}",
                f"--steps={FLAGS.steps}", f"--batch_norm={FLAGS.batch_norm}",
                f"--targets={FLAGS.targets}", f"--weight_gradient={FLAGS.weight_gradient}",
                f"--inter_op_threads={FLAGS.inter_op_threads}",
                f"--intra_op_threads={FLAGS.intra_op_threads}"])
            results.setdefault(preset_name, {})[precision] = r
            print(f"{preset_name:8s} {precision:15s} train {r['train_images_per_second']:7.2f} "
                  f"img/s  forward {r['forward_images_per_second']:7.2f} img/s  "
                  f"peak {r['peak_rss_gib']:.2f} GiB", flush=True)
    write_json(FLAGS.out, {
        "batch_size": FLAGS.batch_size,
        "steps": FLAGS.steps,
        "batch_norm": FLAGS.batch_norm,
        "targets": FLAGS.targets,
        "weight_gradient": FLAGS.weight_gradient,
        "inter_op_threads": FLAGS.inter_op_threads,
        "intra_op_threads": FLAGS.intra_op_threads,
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor(),
                    "platform": platform.platform()},
        "machine_at_start": machine,
        "results": results,
    })
    print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
    app.run(main)
