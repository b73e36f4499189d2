"""Checking records as ``make_dataset`` reads them, with errors that name shard and record.

``shard_counts`` scans the framing of every shard (``record_check``) when a dataset is made;
``check_fn`` parses each record and checks it (required features present, the scheme's point
count, finite landmarks and box, image bytes that start like an image) in the graph, at the
cost of a few small ops per record. ``on_bad_record=fail``: a bad record fails a
``tf.debugging.Assert`` whose message carries the shard, index and reason, which
``as_record_error`` turns back into a ``RecordError`` where the dataset is iterated.
``skip``: the record is dropped, counted in ``SKIPPED`` and logged (Python runs only for bad
records).
"""

from __future__ import annotations

import re

import tensorflow as tf
from absl import logging

from awing_tf.data import features as F
from awing_tf.data.record_check import RecordError, ShardScan, check_shards, scan_shard

_MARKER = re.compile(r"<<bad record\|(.*)\|(\d+)\|(.*?)>>", re.S)
_MISSING_BOX = -3.0e38  # the parse default that marks a missing bbox/xyxy
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"RIFF")  # decode_image's
# the records ``on_bad_record=skip`` dropped in this process: shard path -> record indices
SKIPPED: dict[str, set[int]] = {}
_TRUNCATED_WARNED: set[str] = set()  # shards whose framing error was logged (once each)


def _parse_checked(serialized: tf.Tensor, num_points: int) -> tuple[dict, tf.Tensor]:
    """``(features, reason)``: the parsed record (as ``features.parse_example``: landmarks
    ``(K, 2)``, visible ``(K,)``, bbox ``(4,)``, ...) and why it is bad (scalar string, empty
    for a good record). Missing features parse to sentinels, so they are named too."""
    spec = F.parse_spec()
    spec[F.IMAGE_ENCODED] = tf.io.FixedLenFeature([], tf.string, default_value="")
    for key in (F.IMAGE_HEIGHT, F.IMAGE_WIDTH):
        spec[key] = tf.io.FixedLenFeature([], tf.int64, default_value=-1)
    spec[F.BBOX_XYXY] = tf.io.FixedLenFeature([4], tf.float32, default_value=[_MISSING_BOX] * 4)
    f = tf.io.parse_single_example(serialized, spec)
    xy = tf.sparse.to_dense(f[F.LANDMARKS_XY])
    vis = tf.sparse.to_dense(f[F.LANDMARKS_VISIBLE])
    image = f[F.IMAGE_ENCODED]
    n_xy, n_vis = tf.size(xy), tf.size(vis)
    count_ok = tf.equal(n_xy, 2 * num_points)
    magic = tf.reduce_any([tf.equal(tf.strings.substr(image, 0, len(m)), m)
                           for m in _IMAGE_MAGIC])
    checks = [  # (bad, reason), the first bad one is reported
        (tf.equal(tf.strings.length(image), 0), f"missing feature {F.IMAGE_ENCODED}"),
        (tf.reduce_any(tf.equal(f[F.BBOX_XYXY], _MISSING_BOX)), f"missing feature {F.BBOX_XYXY}"),
        (tf.logical_or(tf.less(f[F.IMAGE_HEIGHT], 0), tf.less(f[F.IMAGE_WIDTH], 0)),
         f"missing feature {F.IMAGE_HEIGHT} or {F.IMAGE_WIDTH}"),
        (tf.logical_not(count_ok), lambda: tf.strings.join([
            f"{F.LANDMARKS_XY} holds ", tf.strings.as_string(n_xy), " values, the scheme "
            f"needs {num_points} points ({2 * num_points} values)"])),
        (tf.logical_and(n_vis > 0, tf.not_equal(n_vis, num_points)), lambda: tf.strings.join([
            f"{F.LANDMARKS_VISIBLE} holds ", tf.strings.as_string(n_vis),
            f" flags, the scheme needs {num_points}"])),
        (tf.logical_not(tf.reduce_all(tf.math.is_finite(xy))), "non-finite landmarks"),
        (tf.logical_not(tf.reduce_all(tf.math.is_finite(f[F.BBOX_XYXY]))), "non-finite box"),
        (tf.logical_not(magic), f"{F.IMAGE_ENCODED} is not JPEG, PNG, GIF, BMP or WebP bytes"),
    ]
    bad = tf.stack([c for c, _ in checks])
    branches = [(lambda r=r: tf.constant(r)) if isinstance(r, str) else r for _, r in checks]
    reason = tf.cond(tf.reduce_any(bad), lambda: tf.switch_case(
        tf.argmax(tf.cast(bad, tf.int32), output_type=tf.int32), branches),
        lambda: tf.constant(""))
    xy = tf.cond(count_ok, lambda: xy, lambda: tf.zeros([2 * num_points]))
    vis = tf.cond(tf.equal(n_vis, num_points), lambda: tf.cast(vis, tf.float32),
                  lambda: tf.ones([num_points], tf.float32))
    parsed = {
        "image_bytes": image, "source_id": f[F.IMAGE_SOURCE_ID],
        "landmarks": tf.ensure_shape(tf.reshape(xy, [num_points, 2]), [num_points, 2]),
        "visible": tf.ensure_shape(tf.reshape(vis, [num_points]), [num_points]),
        "bbox": f[F.BBOX_XYXY],
        "attributes": tf.cast(tf.sparse.to_dense(f[F.ATTRIBUTES]), tf.int32),
    }
    return parsed, reason


def _log_skip(path: tf.Tensor, index: tf.Tensor, reason: tf.Tensor) -> bool:
    """Counts and logs one skipped record, once however many epochs meet it (runs only for
    bad records)."""
    name, i = path.numpy().decode(), int(index.numpy())
    seen = SKIPPED.setdefault(name, set())
    if i not in seen:
        seen.add(i)
        logging.warning("skipped bad record %s record %d: %s (%d skipped in this shard)",
                        name, i, reason.numpy().decode(), len(seen))
    return False


def check_fn(num_points: int, skip: bool):
    """``(path, index, serialized) -> parsed dict [+ keep flag]`` that names bad records."""

    def fn(path: tf.Tensor, index: tf.Tensor, serialized: tf.Tensor):
        parsed, reason = _parse_checked(serialized, num_points)
        good = tf.equal(reason, "")
        if skip:
            keep = tf.cond(good, lambda: tf.constant(True), lambda: tf.py_function(
                _log_skip, [path, index, reason], tf.bool))
            return parsed, tf.ensure_shape(keep, [])
        message = tf.strings.join(
            ["<<bad record|", path, "|", tf.strings.as_string(index), "|", reason, ">>"])
        check = tf.debugging.Assert(good, [message])
        with tf.control_dependencies([check]):
            return {k: tf.identity(v) for k, v in parsed.items()}

    return fn


def as_record_error(err: BaseException, file_pattern: str | list[str] | None = None,
                    num_points: int | None = None) -> RecordError | None:
    """The :class:`RecordError` behind an error raised by iterating a dataset of
    ``make_dataset`` (``on_bad_record=fail``), or None when there is none.

    The checks of ``check_fn`` carry shard, record and reason in the message. Errors they do
    not cover (bytes that are no Example, a feature of the wrong type, image bytes that start
    like an image but do not decode) carry none: given ``file_pattern`` and ``num_points``,
    the records are then read again one at a time to find the first that fails (slow, and
    only on this error path).
    """
    if isinstance(err, RecordError):
        return err
    match = _MARKER.search(str(err))
    if match is not None:
        return RecordError(match.group(1), int(match.group(2)), match.group(3))
    if file_pattern is None or num_points is None or not isinstance(
            err, (tf.errors.InvalidArgumentError, tf.errors.DataLossError)):
        return None
    from awing_tf.files import find_files

    return locate_bad_record(find_files(file_pattern), num_points)


def locate_bad_record(files: list[str], num_points: int) -> RecordError | None:
    """The first record of ``files`` that fails to parse, pass the checks or decode, named;
    None when every record reads. One record at a time, eagerly: for error paths."""
    for path, count in zip(files, shard_counts(files, skip=True), strict=True):
        for i, serialized in enumerate(tf.data.TFRecordDataset(path).take(count)):
            try:
                parsed, reason = _parse_checked(serialized, num_points)
                tf.io.decode_image(parsed["image_bytes"], channels=3, expand_animations=False)
            except tf.errors.OpError as op_err:
                text = op_err.message.strip().splitlines()[0] if op_err.message else str(op_err)
                return RecordError(path, i, f"the record does not read: {text}")
            if reason.numpy():
                return RecordError(path, i, reason.numpy().decode())
    return None


def shard_counts(files: list[str], skip: bool) -> list[int]:
    """Records to read per shard: all of a good one; with ``skip`` those before a framing
    error (warned); -1 for a remote shard, which is not scanned. Raises ``RecordError``
    for a framing error without ``skip``."""
    local = [f for f in files if "://" not in f]
    scans: dict[str, ShardScan] = {}
    if skip:
        scans = {f: scan_shard(f) for f in local}
        for s in scans.values():
            if s.error is not None and s.path not in _TRUNCATED_WARNED:
                _TRUNCATED_WARNED.add(s.path)
                logging.warning("%s; on_bad_record=skip: reading its first %d records and "
                                "skipping the rest of the shard", s.to_error(), s.records)
    else:
        scans = {s.path: s for s in check_shards(local)}
    return [scans[f].records if f in scans else -1 for f in files]
