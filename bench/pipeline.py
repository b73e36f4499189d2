"""Throughput of the training input pipeline beside the decode-only rate.

    python bench/pipeline.py --out=bench/results/pipeline.json [--records=GLOB] [--seconds=20]

Without ``--records`` the 554 faces of ``$AWING_DATA/300w_common`` (default
``../shared/data``) are written to TFRecords in a temporary directory first. Measured, each
for ``--seconds`` after a warm-up, with the "paper" data setting (256 px input, 64 px
heatmaps, 68 + 1 channels) and batch 32:

* ``images_per_second``: the full training pipeline (``make_dataset(training=True)``:
  parse, decode, one warp, photometric augmentation, heatmaps + boundary), no cache.
* ``decode_only_images_per_second``: parse + ``decode_image`` only, same interleave/map.
* ``stages``: rates with some stages switched off, to show where time goes.
* ``component_ms``: each stage alone in a loop (ms per image or per batch).
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

FLAGS = flags.FLAGS
flags.DEFINE_string("records", None, "TFRecord glob; default: build from 300w_common.")
flags.DEFINE_string("out", "bench/results/pipeline.json", "Where to write the JSON.")
flags.DEFINE_float("seconds", 20.0, "Timed seconds per measurement.")
flags.DEFINE_float("warmup_seconds", 5.0, "Untimed seconds first.")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("num_shards", 4, "Shards when building records.")


def _build_records(directory: str) -> str:
    """Writes the 300w_common faces (image, .pts, bbox.txt box) into sharded TFRecords."""
    import numpy as np

    from data_tools.records import FaceRecord, write_records

    root = pathlib.Path(os.environ.get("AWING_DATA", REPO.parent / "shared" / "data"))
    common = root / "300w_common"
    boxes = {}
    for line in (common / "bbox.txt").read_text().splitlines():
        if line.strip():
            name, *vals = line.split()
            boxes[name] = [float(v) for v in vals]

    def records():
        for rel, box in sorted(boxes.items()):
            path = common / rel
            lines = path.with_suffix(".pts").read_text().splitlines()
            pts = [[float(v) for v in ln.split()] for ln in
                   lines[lines.index("{") + 1:lines.index("}")]]
            yield FaceRecord(image_bytes=path.read_bytes(), source_id=rel, height=256,
                             width=256, landmarks=np.asarray(pts, np.float32),
                             scheme="300w68", bbox=box)

    write_records(os.path.join(directory, "common"), records(), FLAGS.num_shards)
    return os.path.join(directory, "common-*.tfrecord")


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
    """Rates with later stages removed: +warp, +photometric, +landmark heatmaps, +boundary."""
    from awing_tf.data.pipeline import make_dataset

    no_photo = dataclasses.replace(cfg, blur_probability=0.0, noise_probability=0.0,
                                   occlusion_probability=0.0)
    out = {}
    for name, c in [
        ("warp_and_landmark_heatmaps_no_photometric_no_boundary",
         dataclasses.replace(no_photo, use_boundary=False)),
        ("warp_photometric_landmark_heatmaps_no_boundary",
         dataclasses.replace(cfg, use_boundary=False)),
        ("warp_landmark_heatmaps_boundary_no_photometric", no_photo),
    ]:
        out[name] = round(_rate(make_dataset(files, c, training=True), cfg.batch_size), 1)
        print(f"  {name}: {out[name]} images/s", flush=True)
    return out


def _component_ms(files: list[str], cfg) -> dict[str, float]:
    """Milliseconds per call of each stage on one core-bound loop (batch stages per batch)."""
    import tensorflow as tf

    from awing_tf import codec
    from awing_tf.data import augment
    from awing_tf.data import pipeline as P
    from awing_tf.data.features import parse_example

    serialized = next(iter(tf.data.TFRecordDataset(files[:1])))
    f = parse_example(serialized, 68)
    image = P._decode(f["image_bytes"])
    matrix, _ = augment.random_augment_matrix(tf.constant([1, 2], tf.int64), cfg.input_size,
                                              cfg.rotation_degrees, cfg.translation_fraction,
                                              cfg.scale_range, cfg.flip_probability)
    matrix = matrix @ augment.crop_matrix(f["bbox"], cfg.input_size)
    src = tf.cast(image, tf.float32) / 255.0
    b = cfg.batch_size
    images = tf.random.uniform([b, cfg.input_size, cfg.input_size, 3])
    lm = tf.tile(augment.apply_affine_to_points(matrix, f["landmarks"])[None], [b, 1, 1])
    vis = tf.ones([b, 68])
    seed = tf.constant([3, 4], tf.int64)
    no_bd = dataclasses.replace(cfg, use_boundary=False)

    def targets(c):
        return codec.encode_target(lm, c.scheme, c.heatmap_size, c.input_size, c.sigma,
                                   c.boundary_sigma, c.use_boundary, visible=vis)

    stages = {
        "parse_per_image": lambda: parse_example(serialized, 68)["landmarks"],
        "decode_per_image": lambda: P._decode(f["image_bytes"]),
        "warp_float32_per_image": lambda: augment.warp_image(src, matrix, cfg.input_size),
        "warp_uint8_per_image": lambda: augment.warp_image(image, matrix, cfg.input_size),
        "landmark_heatmaps_per_batch": lambda: targets(no_bd),
        "landmark_heatmaps_and_boundary_per_batch": lambda: targets(cfg),
        "photometric_per_batch": lambda: augment.photometric_augment(
            images, seed, cfg.blur_probability, cfg.noise_probability, cfg.noise_stddev,
            cfg.occlusion_probability),
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
        out[name] = round(1000 * (time.perf_counter() - t0) / n, 2)
        print(f"  {name}: {out[name]} ms", flush=True)
    return out


def main(argv: list[str]) -> None:
    del argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from awing_tf.config import preset
    from awing_tf.data.pipeline import make_dataset

    cfg = dataclasses.replace(preset("paper").data, batch_size=FLAGS.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        pattern = FLAGS.records or _build_records(tmp)
        files = sorted(tf.io.gfile.glob(pattern))
        full = _rate(make_dataset(files, cfg, training=True), cfg.batch_size)
        print(f"full training pipeline: {full:.1f} images/s", flush=True)
        decode = _rate(_decode_only(files, cfg.batch_size), cfg.batch_size)
        print(f"decode only (parse + decode_image): {decode:.1f} images/s", flush=True)
        stages = _stage_rates(files, cfg)
        components = _component_ms(files, cfg)
    result = {
        "images_per_second": round(full, 1),
        "decode_only_images_per_second": round(decode, 1),
        "ratio_decode_only_to_full": round(decode / full, 2),
        "stages": stages,
        "component_ms": components,
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        "batch_size": cfg.batch_size,
        "data_config": dataclasses.asdict(cfg),
        "records": FLAGS.records or "300w_common (554 faces, 256x256 PNG), built in a temp dir",
        "seconds_per_measurement": FLAGS.seconds,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
        },
    }
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
    with open(FLAGS.out, "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    print(json.dumps({k: result[k] for k in ("images_per_second",
                                              "decode_only_images_per_second")}))


if __name__ == "__main__":
    app.run(main)
