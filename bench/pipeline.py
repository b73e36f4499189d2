"""Throughput of the training input pipeline beside decoding alone and decoding + warping,
and of ``model.fit`` with heatmap targets built in the training step or in the pipeline.

    python bench/pipeline.py --out=bench/results/pipeline.json [--records=GLOB] [--seconds=20]

Without ``--records`` the 554 faces of ``$AWING_DATA/300w_common`` (default
``../shared/data``) are written to TFRecords in a temporary directory first. Measured, each
for ``--seconds`` after a warm-up, with the "paper" data setting (256 px input, 64 px
heatmaps, 68 + 1 channels) and batch 32:

* ``images_per_second``: the training pipeline as ``awing-train`` runs it
  (``make_dataset(training=True)``: parse, decode, one warp, the photometric draw and the
  occluder; landmark targets, with which the model blurs, adds noise and encodes the
  heatmaps in its step), no cache.
* ``decode_only_images_per_second``: parse + ``decode_image`` only, same interleave/map.
* ``decode_and_warp_images_per_second``: the same pipeline without photometric
  augmentation: parse, decode, warp, landmarks (what any pipeline pays).
* ``pipeline_targets_images_per_second``: the full pipeline with blur, noise and the heatmap
  and boundary targets in ``tf.data`` (``targets="heatmaps"``, the earlier default).
* ``stages``: rates with some stages switched off, to show where time goes.
* ``component_ms``: each stage alone in a loop (ms per image or per batch).
* ``fit_images_per_second``: ``model.fit`` of the ``compact`` preset (batch 8, precision
  ``auto``) on the same records, targets built in the step against built in the pipeline,
  alternating ``--fit_rounds`` times (``--fit_steps`` timed steps after ``--fit_warmup``).

``machine_at_start`` records the CPU model, cores and load average.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.harness.machine import load_average, machine_info  # noqa: E402
from bench.harness.results import write_json  # noqa: E402

FLAGS = flags.FLAGS
PHOTOMETRIC_DRAWS = 64  # seeds per timed call: the mean cost over what examples draw
flags.DEFINE_string("records", None, "TFRecord glob; default: build from 300w_common.")
flags.DEFINE_string("out", "bench/results/pipeline.json", "Where to write the JSON.")
flags.DEFINE_float("seconds", 20.0, "Timed seconds per measurement.")
flags.DEFINE_float("warmup_seconds", 5.0, "Untimed seconds first.")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("num_shards", 4, "Shards when building records.")
flags.DEFINE_integer("fit_steps", 40, "Timed model.fit steps per measurement (0: skip fit).")
flags.DEFINE_integer("fit_warmup", 8, "Untimed model.fit steps first.")
flags.DEFINE_integer("fit_rounds", 2, "Alternating rounds of the two fit variants.")


def _build_records(directory: str) -> str:
    """Writes the 300w_common faces (image, .pts, bbox.txt box) into sharded TFRecords."""
    from data_tools.convert_300w import iter_300w_items
    from data_tools.writing import write_items

    root = pathlib.Path(os.environ.get("AWING_DATA", REPO.parent / "shared" / "data"))
    common = root / "300w_common"
    items, total = iter_300w_items(common, bbox_file=common / "bbox.txt")
    write_items(items, os.path.join(directory, "common"), "300w68", FLAGS.num_shards,
                total=total, desc="300w_common")
    return os.path.join(directory, "common-*.tfrecord")


def _variant(cfg, use_boundary: bool = True, photometric: bool = True):
    """``cfg`` without the boundary channel and/or without photometric augmentation."""
    data = cfg.data if photometric else dataclasses.replace(
        cfg.data, blur_probability=0.0, noise_probability=0.0, occlusion_probability=0.0)
    spec = dataclasses.replace(cfg.spec, use_boundary=cfg.spec.use_boundary and use_boundary)
    return dataclasses.replace(cfg, data=data,
                               model=dataclasses.replace(cfg.model, spec=spec))


def _rate(ds, batch_size: int) -> float:
    """Images per second over ``--seconds`` after ``--warmup_seconds``."""
    it = iter(ds)
    t_end = time.perf_counter() + FLAGS.warmup_seconds
    while time.perf_counter() < t_end:
        next(it)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < FLAGS.seconds:
        next(it)
        n += batch_size
    return n / (time.perf_counter() - t0)


def _decode_only(files: list[str], batch_size: int):
    import tensorflow as tf

    from awing_tf.data.features import parse_example

    def fn(serialized):
        f = parse_example(serialized, 68)
        image = tf.io.decode_image(f["image_bytes"], channels=3, expand_animations=False)
        return tf.reduce_sum(tf.cast(image[:1, :1], tf.int32))  # fixed size, so it batches

    ds = tf.data.Dataset.from_tensor_slices(files).repeat()
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=len(files),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    ds = ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _stage_rates(files: list[str], cfg) -> dict[str, float]:
    """Rates with some stages removed: no photometric, no boundary, pipeline targets."""
    from awing_tf.data.pipeline import make_dataset

    out = {}
    for name, c, targets in [
        ("warp_pipeline_landmark_heatmaps_no_photometric_no_boundary",
         _variant(cfg, use_boundary=False, photometric=False), "heatmaps"),
        ("warp_photometric_pipeline_landmark_heatmaps_no_boundary",
         _variant(cfg, use_boundary=False), "heatmaps"),
        ("warp_pipeline_landmark_heatmaps_boundary_no_photometric",
         _variant(cfg, photometric=False), "heatmaps"),
    ]:
        rate = _rate(make_dataset(files, c, training=True, targets=targets),
                     cfg.train.batch_size)
        out[name] = round(rate, 1)
        print(f"  {name}: {out[name]} images/s", flush=True)
    return out


def _step_clock():
    """A Keras callback keeping the wall time at the start of training and at the end of
    every training batch (``.times``)."""
    import keras

    class StepClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times = [time.perf_counter()]

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

    return StepClock()


def _fit_rates(files: list[str]) -> dict:
    """``model.fit`` images/s of ``compact`` (batch 8, precision auto), targets in the step
    against targets in the pipeline, alternating; per variant the median of the rounds."""
    import statistics

    import keras

    from awing_tf.config import apply_overrides, preset
    from awing_tf.data.pipeline import make_dataset
    from awing_tf.models.face_aligner import FaceAligner
    from awing_tf.training.compile import compile_for_training
    from awing_tf.training.runtime import resolve_precision

    cfg = apply_overrides(preset("compact"), ["batch_size=8", "data.seed=0"])
    precision = resolve_precision(cfg.train.precision)
    steps = FLAGS.fit_warmup + FLAGS.fit_steps
    rates: dict[str, list[float]] = {"step_targets": [], "pipeline_targets": []}
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        for _ in range(FLAGS.fit_rounds):
            for name, targets in (("step_targets", "landmarks"),
                                  ("pipeline_targets", "heatmaps")):
                keras.utils.set_random_seed(0)
                model = FaceAligner(cfg.model)
                compile_for_training(model, cfg, steps)
                clock = _step_clock()
                model.fit(make_dataset(files, cfg, training=True, targets=targets),
                          epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock])
                t = clock.times[1 + FLAGS.fit_warmup:]
                rate = 8 * (len(t) - 1) / (t[-1] - t[0])
                rates[name].append(round(rate, 2))
                print(f"  fit compact, {name}: {rate:.1f} images/s", flush=True)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    med = {k: round(statistics.median(v), 2) for k, v in rates.items()}
    return {"preset": "compact", "batch_size": 8, "precision": precision,
            "timed_steps": FLAGS.fit_steps, "warmup_steps": FLAGS.fit_warmup, "rounds": rates,
            **med, "ratio_step_to_pipeline_targets": round(
                med["step_targets"] / med["pipeline_targets"], 3)}


def _component_ms(files: list[str], cfg) -> dict[str, float]:
    """Milliseconds per call of each stage on one core-bound loop (batch stages per batch)."""
    import tensorflow as tf

    from awing_tf.codec import HeatmapCodec
    from awing_tf.data import geometry, photometric
    from awing_tf.data import pipeline as P
    from awing_tf.data.features import parse_example

    d, size = cfg.data, cfg.spec.input_size
    serialized = next(iter(tf.data.TFRecordDataset(files[:1])))
    f = parse_example(serialized, 68)
    image = P._decode(f["image_bytes"])
    matrix, _ = geometry.random_augment_matrix(tf.constant([1, 2], tf.int64), size,
                                               d.rotation_degrees, d.translation_fraction,
                                               d.scale_range, d.flip_probability)
    matrix = matrix @ geometry.crop_matrix(f["bbox"], size)
    src = tf.cast(image, tf.float32) / 255.0
    b = cfg.train.batch_size
    images = tf.random.uniform([b, size, size, 3])
    lm = tf.tile(geometry.apply_affine_to_points(matrix, f["landmarks"])[None], [b, 1, 1])
    vis = tf.ones([b, 68])
    seed = tf.constant([3, 4], tf.int64)
    draws = [photometric.draw_photometric(  # the batch's draws, as examples draw them
        seed + tf.constant([0, i], tf.int64), d.blur_probability, d.noise_probability,
        d.noise_stddev, d.occlusion_probability) for i in range(b)]
    sigma = tf.stack([x["blur_sigma"] for x in draws])
    noise = tf.stack([x["noise_stddev"] for x in draws])
    with_boundary = HeatmapCodec.for_config(cfg)
    without_boundary = HeatmapCodec.for_config(_variant(cfg, use_boundary=False))

    stages = {
        "parse_per_image": lambda: parse_example(serialized, 68)["landmarks"],
        "decode_per_image": lambda: P._decode(f["image_bytes"]),
        "warp_float32_per_image": lambda: geometry.warp_image(src, matrix, size),
        "warp_uint8_per_image": lambda: geometry.warp_image(image, matrix, size),
        "landmark_heatmaps_per_batch": lambda: without_boundary.encode(lm, visible=vis),
        "landmark_heatmaps_and_boundary_per_batch": lambda: with_boundary.encode(lm,
                                                                                 visible=vis),
        "photometric_draw_and_occluder_per_image_mean_over_draws": lambda: tf.map_fn(
            lambda k: _draw_and_occlude(images[0], seed + tf.stack(
                [tf.constant(0, tf.int64), k]), d)[0, 0, 0],
            tf.range(PHOTOMETRIC_DRAWS, dtype=tf.int64), fn_output_signature=tf.float32),
        "blur_and_noise_per_batch_in_the_step": lambda: photometric.blur_and_noise(
            images, sigma, noise, seed),
    }
    out = {}
    for name, fn in stages.items():
        fn = tf.function(fn)
        fn()
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 1.0:
            fn()
            n += 1
        per_call = 1000 * (time.perf_counter() - t0) / n
        out[name] = round(per_call / (PHOTOMETRIC_DRAWS if "photometric" in name else 1), 3)
        print(f"  {name}: {out[name]} ms", flush=True)
    return out


def _draw_and_occlude(image, seed, d):
    """The per-example photometric work of the pipeline: the draw and the occluder."""
    from awing_tf.data import photometric

    drawn = photometric.draw_photometric(seed, d.blur_probability, d.noise_probability,
                                         d.noise_stddev, d.occlusion_probability)
    return photometric.maybe_occlude(image, drawn["occlude"], seed)


def _data_config(cfg) -> dict:
    """The geometry, the data settings and the batch of ``cfg`` in one flat dict."""
    return {**dataclasses.asdict(cfg.spec), **dataclasses.asdict(cfg.data),
            "batch_size": cfg.train.batch_size}


def main(argv: list[str]) -> None:
    del argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    machine = machine_info()
    import tensorflow as tf

    from awing_tf.config import preset
    from awing_tf.data.pipeline import make_dataset

    cfg = preset("paper")
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train,
                                                             batch_size=FLAGS.batch_size))
    batch = cfg.train.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        pattern = FLAGS.records or _build_records(tmp)
        files = sorted(tf.io.gfile.glob(pattern))
        full = _rate(make_dataset(files, cfg, training=True), batch)
        print(f"full training pipeline: {full:.1f} images/s", flush=True)
        decode = _rate(_decode_only(files, batch), batch)
        print(f"decode only (parse + decode_image): {decode:.1f} images/s", flush=True)
        warp = _rate(make_dataset(files, _variant(cfg, photometric=False), training=True),
                     batch)
        print(f"decode + warp: {warp:.1f} images/s", flush=True)
        old = _rate(make_dataset(files, cfg, training=True, targets="heatmaps"), batch)
        print(f"full pipeline, heatmap targets in tf.data: {old:.1f} images/s", flush=True)
        stages = _stage_rates(files, cfg)
        components = _component_ms(files, cfg)
        fit = _fit_rates(files) if FLAGS.fit_steps > 0 else None
    result = {
        "images_per_second": round(full, 1),
        "decode_only_images_per_second": round(decode, 1),
        "decode_and_warp_images_per_second": round(warp, 1),
        "pipeline_targets_images_per_second": round(old, 1),
        "ratio_decode_and_warp_to_full": round(warp / full, 3),
        "ratio_decode_only_to_full": round(decode / full, 2),
        "ratio_step_to_pipeline_targets": round(full / old, 3),
        "stages": stages,
        "component_ms": components,
        "fit_images_per_second": fit,
        "load_average_at_end": load_average(),
        "machine_at_start": machine,
        "batch_size": batch,
        "data_config": _data_config(cfg),
        "records": FLAGS.records or "300w_common (554 faces, 256x256 PNG), built in a temp dir",
        "seconds_per_measurement": FLAGS.seconds,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
        },
    }
    write_json(FLAGS.out, result)
    print(json.dumps({k: result[k] for k in (
        "images_per_second", "decode_only_images_per_second",
        "decode_and_warp_images_per_second", "ratio_decode_and_warp_to_full")}))


if __name__ == "__main__":
    app.run(main)
