"""The 3x3 weight gradient as a matrix product against ``Conv2DBackpropFilter``.

    TF_ENABLE_ONEDNN_OPTS=1 python bench/conv_weight_gradient.py \
        --out=bench/results/conv_weight_gradient.json

Two parts, in one process so the ratios share the machine's state:

- ``layers``: for each 3x3 layer size of the ``paper`` network at batch ``--batch_size``, the
  median time of TensorFlow's ``Conv2DBackpropFilter`` and of
  ``conv_weight_gradient.weight_gradient_by_gemm`` (and, for scale, the forward convolution),
  with the GFLOP/s of each and whether ``gemm_weight_gradient_pays`` picks the product;
- ``train_step``: two ``paper`` (``--preset``) ``FaceAligner`` models in ``--precision``, one
  traced with ``set_weight_gradient("native")`` and one with ``"auto"``, trained in
  alternating steps on the same batch (heatmap targets encoded in the step); per pair of
  steps the ratio of their times, and the median ratio.

``machine_at_start`` records the CPU model, cores and load average; ``onednn`` whether
oneDNN ran (without it ``auto`` changes nothing).
"""

from __future__ import annotations

import time

from absl import app, flags

from bench.harness.latency import median_ms
from bench.harness.machine import machine_info
from bench.harness.results import write_json

FLAGS = flags.FLAGS
flags.DEFINE_string("out", "bench/results/conv_weight_gradient.json", "Where to write the JSON.")
flags.DEFINE_integer("batch_size", 8, "Batch size.")
flags.DEFINE_integer("repeats", 7, "Timed calls per layer size (median reported).")
flags.DEFINE_string("preset", "paper", "Preset of the train-step comparison ('' skips it).")
flags.DEFINE_string("precision", "float32", "Keras dtype policy of the train-step comparison.")
flags.DEFINE_integer("pairs", 4, "Timed (native, auto) step pairs after one untimed pair.")

# (map size, input channels, output channels) of the paper network's 3x3 layers
LAYERS = [(128, 64, 64), (128, 64, 32), (128, 32, 32), (64, 256, 128), (64, 128, 128),
          (64, 128, 64), (64, 64, 64), (32, 256, 128), (16, 256, 128), (8, 256, 128)]


def _layers() -> list[dict]:
    import numpy as np
    import tensorflow as tf

    from awing_tf.layers import conv_weight_gradient as cwg

    rng = np.random.default_rng(0)
    b = FLAGS.batch_size
    rows = []
    for size, c_in, c_out in LAYERS:
        x = tf.constant(rng.normal(size=(b, size, size, c_in)).astype("float32"))
        dy = tf.constant(rng.normal(size=(b, size, size, c_out)).astype("float32"))
        w = tf.constant(rng.normal(size=(3, 3, c_in, c_out)).astype("float32"))
        native = tf.function(lambda x=x, dy=dy, c_in=c_in, c_out=c_out:
                             tf.raw_ops.Conv2DBackpropFilter(
                                 input=x, filter_sizes=[3, 3, c_in, c_out], out_backprop=dy,
                                 strides=[1, 1, 1, 1], padding="SAME"))
        gemm = tf.function(lambda x=x, dy=dy: cwg.weight_gradient_by_gemm(x, dy))
        forward = tf.function(lambda x=x, w=w: tf.nn.conv2d(x, w, 1, "SAME"))
        a, g = native().numpy(), gemm().numpy()
        rel = float(np.abs(a - g).max() / np.abs(a).max())
        gflop = 2 * b * size * size * c_in * c_out * 9 / 1e9
        t = {name: median_ms(fn, warmup=2, runs=FLAGS.repeats) / 1e3
             for name, fn in (("native", native), ("gemm", gemm), ("forward", forward))}
        row = {"size": size, "in_channels": c_in, "out_channels": c_out,
               "native_ms": 1e3 * t["native"], "gemm_ms": 1e3 * t["gemm"],
               "forward_ms": 1e3 * t["forward"],
               "native_gflops": gflop / t["native"], "gemm_gflops": gflop / t["gemm"],
               "forward_gflops": gflop / t["forward"],
               "gemm_speedup": t["native"] / t["gemm"],
               "picked": cwg.gemm_weight_gradient_pays(size, size, c_in, c_out),
               "max_relative_difference": rel}
        rows.append(row)
        print(f"{size:4d}x{size:<4d} {c_in:4d}->{c_out:<4d} native {row['native_ms']:7.1f} ms "
              f"gemm {row['gemm_ms']:7.1f} ms ({row['gemm_speedup']:.2f}x) forward "
              f"{row['forward_ms']:7.1f} ms  picked={row['picked']}", flush=True)
    return rows


def _train_step() -> dict:
    import keras
    import numpy as np

    from awing_tf.config import preset
    from awing_tf.layers import conv_weight_gradient as cwg
    from awing_tf.models.face_aligner import FaceAligner
    from awing_tf.training import compile_for_training

    keras.mixed_precision.set_global_policy(FLAGS.precision)
    cfg = preset(FLAGS.preset)
    rng = np.random.default_rng(0)
    b, s = FLAGS.batch_size, cfg.spec.input_size
    x = rng.uniform(0, 1, (b, s, s, 3)).astype("float32")
    lm = rng.uniform(0.2 * s, 0.8 * s, (b, cfg.spec.num_landmarks, 2)).astype("float32")
    ys = {"landmarks": lm, "visible": np.ones(lm.shape[:2], np.float32)}
    models = {}
    for mode in ("native", "auto"):
        keras.utils.set_random_seed(0)
        model = FaceAligner(cfg.model)
        compile_for_training(model, cfg, steps_per_epoch=1000)
        cwg.set_weight_gradient(mode)
        model.train_on_batch(x, ys)  # traced in this mode
        models[mode] = model
    cwg.set_weight_gradient("auto")
    times: dict[str, list[float]] = {"native": [], "auto": []}
    for i in range(FLAGS.pairs + 1):
        order = ("native", "auto") if i % 2 == 0 else ("auto", "native")
        for mode in order:
            t = time.perf_counter()
            models[mode].train_on_batch(x, ys)
            if i > 0:
                times[mode].append(time.perf_counter() - t)
        if i > 0:
            print(f"pair {i}: native {times['native'][-1]:.2f} s  auto {times['auto'][-1]:.2f} s",
                  flush=True)
    ratios = [n / a for n, a in zip(times["native"], times["auto"], strict=True)]
    return {"preset": FLAGS.preset, "precision": FLAGS.precision,
            "batch_size": b, "native_step_seconds": times["native"],
            "auto_step_seconds": times["auto"], "speedup_per_pair": ratios,
            "median_speedup": float(np.median(ratios)),
            "native_images_per_second": b / float(np.median(times["native"])),
            "auto_images_per_second": b / float(np.median(times["auto"]))}


def main(argv: list[str]) -> None:
    del argv
    machine = machine_info()
    from awing_tf.layers.conv_weight_gradient import onednn_enabled

    out = {"batch_size": FLAGS.batch_size, "repeats": FLAGS.repeats,
           "onednn": onednn_enabled(), "machine_at_start": machine, "layers": _layers()}
    if FLAGS.preset:
        out["train_step"] = _train_step()
        print(f"train step {FLAGS.preset} {FLAGS.precision}: median speedup "
              f"{out['train_step']['median_speedup']:.3f}", flush=True)
    write_json(FLAGS.out, out)
    print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
    app.run(main)
