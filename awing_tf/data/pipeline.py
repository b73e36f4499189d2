"""The ``tf.data`` input pipeline: TFRecords -> cropped, augmented images + targets.

Per example (images differ in size, so before batching): parse, ``decode_image``, one
composed affine (crop x random augmentation) applied to the image in one bilinear warp and to
the landmarks; the example draws its photometric augmentation and gets its occluder here.
The targets are the landmarks themselves (``{"landmarks", "visible"}``, in training with the
drawn ``blur_sigma``, ``noise_stddev`` and ``photometric_seed``): a
:class:`~awing_tf.models.face_aligner.FaceAligner` blurs, adds noise and encodes the heatmaps
inside its training step, on the device that trains. ``targets="heatmaps"`` does blur, noise
and heatmaps here instead, per batch.

Randomness is stateless: example ``i`` of the stream uses the seed ``(base, 2 i)`` for its
geometry and ``(base, 2 i + 1)`` for its photometric augmentation, where ``base`` is
``DataConfig.seed`` (a fresh random value when ``None``). With ``deterministic=True`` the element order is fixed too, so a run is
reproducible for a given seed.

Bad data is named (``awing_tf.data.record_check``): every shard's framing is scanned when the
dataset is made, and every record is checked as it is parsed (required features present,
the scheme's point count, finite landmarks and box, image bytes that start like an image).
``DataConfig.on_bad_record`` says what happens: ``fail`` raises a ``RecordError`` naming the
shard and record (at once for a framing error; for a record, where the iterator is consumed,
through :func:`as_record_error`); ``skip`` drops the bad records with a log line each, and
reads a shard with a framing error only up to its last complete record, with a warning.
"""

from __future__ import annotations

import random

import tensorflow as tf

from awing_tf.codec import HeatmapCodec
from awing_tf.config import Config
from awing_tf.data import geometry, photometric
from awing_tf.data.record_validation import as_record_error, check_fn, shard_counts
from awing_tf.files import find_files

__all__ = ["as_record_error", "make_dataset"]

NUM_ATTRIBUTES = 6
MAX_INTERLEAVE_CYCLE = 16
TARGETS = ("landmarks", "heatmaps")
PHOTOMETRIC_KEYS = ("blur_sigma", "noise_stddev", "photometric_seed")


# === Per example ===


def _decode(image_bytes: tf.Tensor) -> tf.Tensor:
    """JPEG/PNG/... bytes -> ``(H, W, 3)`` uint8."""
    image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    return tf.ensure_shape(image, [None, None, 3])


def _pad_attributes(attributes: tf.Tensor) -> tf.Tensor:
    """``(A,)`` int32 -> ``(6,)`` int32, padded with -1 (extra entries dropped)."""
    attributes = attributes[:NUM_ATTRIBUTES]
    padded = tf.pad(attributes, [[0, NUM_ATTRIBUTES - tf.shape(attributes)[0]]],
                    constant_values=-1)
    return tf.ensure_shape(padded, [NUM_ATTRIBUTES])


def _example_matrix(
    bbox: tf.Tensor, seed: tf.Tensor, config: Config, training: bool
) -> tuple[tf.Tensor, tf.Tensor]:
    """``(matrix (3, 3) source -> crop pixels, flipped scalar bool)`` of one example."""
    cfg, size = config.data, config.spec.input_size
    crop = geometry.crop_matrix(bbox, size, cfg.margin_for(config.spec.scheme))
    if not training:
        return crop, tf.constant(False)
    aug, flipped = geometry.random_augment_matrix(
        seed, size, cfg.rotation_degrees, cfg.translation_fraction,
        cfg.scale_range, cfg.flip_probability)
    return aug @ crop, flipped


def _make_example_fn(config: Config, training: bool, base_seed: int):
    """``(index, parsed record) -> dict`` of one warped example (image float32 in [0, 1])."""
    scheme = config.spec.landmark_scheme
    size = config.spec.input_size

    cfg = config.data

    def fn(index: tf.Tensor, f: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        seed = tf.stack([tf.constant(base_seed, tf.int64), 2 * index])
        matrix, flipped = _example_matrix(f["bbox"], seed, config, training)
        region, region_matrix = geometry.source_region(
            _decode(f["image_bytes"]), matrix, size)
        # float32 warps faster than uint8 in ImageProjectiveTransformV3
        region = tf.cast(region, tf.float32) * (1.0 / 255.0)
        image = geometry.warp_image(region, region_matrix, size)
        photometric_seed = seed + tf.constant([0, 1], tf.int64)
        drawn = {"blur_sigma": tf.constant(0.0), "noise_stddev": tf.constant(0.0)}
        if training:
            draw_seed, occlusion_seed = tf.unstack(
                tf.random.experimental.stateless_split(photometric_seed, 2))
            drawn = photometric.draw_photometric(
                draw_seed, cfg.blur_probability, cfg.noise_probability, cfg.noise_stddev,
                cfg.occlusion_probability)
            image = photometric.maybe_occlude(image, drawn["occlude"], occlusion_seed)
        points = geometry.apply_affine_to_points(matrix, f["landmarks"])
        points, visible = geometry.flip_landmarks(
            points, f["visible"], scheme.flip_permutation, flipped)
        return {
            "image": tf.ensure_shape(image, [size, size, 3]),
            "landmarks": points,
            "visible": visible,
            "source_id": f["source_id"],
            "attributes": _pad_attributes(f["attributes"]),
            "crop_to_image": geometry.invert_affine(matrix),
            "blur_sigma": drawn["blur_sigma"],
            "noise_stddev": drawn["noise_stddev"],
            "photometric_seed": photometric_seed,
        }

    return fn


# === Per batch ===


def _make_batch_fn(config: Config, training: bool, targets: str, num_stacks: int,
                   with_metadata: bool):
    """``batch dict -> (images, targets[, meta])``."""
    codec = HeatmapCodec.for_config(config)

    def fn(batch: dict[str, tf.Tensor]):
        images = batch["image"]
        # blur and noise as drawn per example: applied here only for heatmap targets; with
        # landmark targets the model's training step applies them
        drawn = {k: batch[k] for k in PHOTOMETRIC_KEYS}
        if targets == "heatmaps":
            if training:
                images = photometric.blur_and_noise(
                    images, drawn["blur_sigma"], drawn["noise_stddev"],
                    drawn["photometric_seed"][0])
            heatmaps = codec.encode(batch["landmarks"], visible=batch["visible"])
            y = tuple([heatmaps] * num_stacks)
        else:
            y = {"landmarks": batch["landmarks"], "visible": batch["visible"]}
            if training:
                y.update(drawn)
        if not with_metadata:
            return images, y
        meta = {k: batch[k] for k in
                ("landmarks", "visible", "source_id", "attributes", "crop_to_image")}
        return images, y, meta

    return fn


# === Dataset ===


def _list_files(file_pattern: str | list[str]) -> list[str]:
    files = find_files(file_pattern)
    if not files:
        raise ValueError(f"file_pattern {file_pattern!r} matches no files")
    return files


def _check_args(batch_size: int, num_stacks: int, targets: str) -> None:
    if targets not in TARGETS:
        raise ValueError(f"targets must be one of {TARGETS}, got {targets!r}")
    if not isinstance(num_stacks, int) or num_stacks < 1:
        raise ValueError(f"num_stacks must be an int >= 1, got {num_stacks!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")


def _records(files: list[str], counts: list[int], training: bool, deterministic: bool,
             seed: int | None) -> tf.data.Dataset:
    """``(shard path, record index, serialized Example)``, interleaved over the shard files
    (shuffled when training), at most ``counts[i]`` records of shard ``i`` (-1: all)."""
    ds = tf.data.Dataset.from_tensor_slices((files, tf.constant(counts, tf.int64)))
    if training:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)

    def shard(path: tf.Tensor, count: tf.Tensor) -> tf.data.Dataset:
        records = tf.data.TFRecordDataset(path).take(count).enumerate()
        return records.map(lambda i, r: (path, i, r))

    return ds.interleave(
        shard,
        cycle_length=min(len(files), MAX_INTERLEAVE_CYCLE),
        block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )


def make_dataset(
    file_pattern: str | list[str],
    config: Config,
    training: bool,
    *,
    batch_size: int | None = None,
    num_stacks: int | None = None,
    with_metadata: bool = False,
    repeat: bool | None = None,
    targets: str = "landmarks",
) -> tf.data.Dataset:
    """Batches of cropped (and, when ``training``, augmented) faces with their targets.

    Args:
      file_pattern: glob(s) of TFRecord shards (schema in ``awing_tf.data.features``).
      config: ``config.spec`` gives the crop and heatmap geometry, ``config.data`` the target
        sigmas, margin, augmentation, shuffle and seed.
      training: random affine + photometric augmentation, shuffling, ``drop_remainder``.
      batch_size: default ``config.train.batch_size``.
      num_stacks: with ``targets="heatmaps"``, the number of (identical) targets, one per
        hourglass output; default ``config.model.num_stacks``.
      with_metadata: also yield a metadata dict (for evaluation).
      repeat: repeat forever; default ``training``.
      targets: ``"landmarks"`` (default): the landmarks, which a ``FaceAligner`` encodes into
        heatmaps inside its training and test steps; ``"heatmaps"``: the heatmap targets,
        encoded here (for models other than ``FaceAligner``).

    Raises:
      RecordError: (``config.data.on_bad_record == "fail"``) naming the first shard whose
        framing is broken, before anything is read. A record that parses but is wrong is
        named when the dataset is iterated: ``as_record_error`` turns the ``OpError`` into
        the ``RecordError``.

    Returns:
      A dataset of ``(images, targets)`` or ``(images, targets, meta)``:
      images ``(B, S, S, 3)`` float32 in [0, 1]; targets ``{"landmarks": (B, K, 2)
      input-crop pixels, "visible": (B, K) float32}`` (in training also ``"blur_sigma"``
      and ``"noise_stddev"`` (B,) float32 and ``"photometric_seed"`` (B, 2) int64: the
      blur and noise the step applies), or with ``targets="heatmaps"`` a
      tuple of ``num_stacks`` references to one ``(B, h, w, K [+1])`` float32 heatmap
      tensor (boundary last), encoded with ``HeatmapCodec.for_config(config)``; meta has
      ``landmarks`` (B, K, 2) input-crop pixels, ``visible`` (B, K) float32, ``source_id``
      (B,) string, ``attributes`` (B, 6) int32 (-1 padded) and ``crop_to_image``
      (B, 3, 3) float32 mapping crop pixels back to source-image pixels.
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a Config, got {type(config).__name__}")
    batch_size = config.train.batch_size if batch_size is None else batch_size
    num_stacks = config.model.num_stacks if num_stacks is None else num_stacks
    _check_args(batch_size, num_stacks, targets)
    cfg = config.data
    files = _list_files(file_pattern)
    repeat = training if repeat is None else repeat
    deterministic = bool(cfg.deterministic) or not training
    base_seed = cfg.seed if cfg.seed is not None else random.SystemRandom().randrange(2**31)
    shuffle_seed = cfg.seed if cfg.deterministic else None

    skip = cfg.on_bad_record == "skip"
    ds = _records(files, shard_counts(files, skip), training, deterministic, shuffle_seed)
    ds = ds.map(check_fn(config.spec.num_landmarks, skip),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if skip:  # records no check names (not an Example, ...): dropped with TF's warning
        ds = ds.ignore_errors(log_warning=True)
        ds = ds.filter(lambda parsed, keep: keep).map(lambda parsed, keep: parsed)
    if training and cfg.shuffle_buffer > 1:
        ds = ds.shuffle(cfg.shuffle_buffer, seed=shuffle_seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.enumerate().map(
        _make_example_fn(config, training, base_seed),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if skip:  # image bytes that look right but do not decode
        ds = ds.ignore_errors(log_warning=True)
    ds = ds.batch(batch_size, drop_remainder=training)
    ds = ds.map(_make_batch_fn(config, training, targets, num_stacks, with_metadata),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    options = tf.data.Options()
    options.deterministic = deterministic
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)
