"""Example builder and sharded TFRecord writer (temporary names, renamed when complete)."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Sequence

import numpy as np
import tensorflow as tf
from absl import logging

from awing_tf.data import features as F


@dataclasses.dataclass
class FaceRecord:
    """One face, ready to serialise. Coordinates are source-image pixels.

    landmarks: (K, 2) float; visible: (K,) int or None (all visible); bbox: (4,) x1 y1 x2 y2.
    """

    image_bytes: bytes
    source_id: str
    height: int
    width: int
    landmarks: np.ndarray
    scheme: str
    bbox: Sequence[float]
    visible: np.ndarray | None = None
    attributes: Sequence[int] = ()


def _bytes(values: Iterable[bytes]) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))


def _floats(values: Iterable[float]) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def _ints(values: Iterable[int]) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def make_example(rec: FaceRecord) -> tf.train.Example:
    """Builds the ``tf.train.Example`` of one face (schema in ``awing_tf.data.features``)."""
    lm = np.asarray(rec.landmarks, np.float32)
    if lm.ndim != 2 or lm.shape[1] != 2:
        raise ValueError(f"{rec.source_id}: landmarks must be (K, 2), got shape {lm.shape}")
    k = lm.shape[0]
    vis = np.ones(k, np.int64) if rec.visible is None else np.asarray(rec.visible, np.int64)
    if vis.shape != (k,):
        raise ValueError(f"{rec.source_id}: visible must have {k} flags, got shape {vis.shape}")
    box = [float(v) for v in rec.bbox]
    if len(box) != 4:
        raise ValueError(f"{rec.source_id}: bbox must have 4 values, got {box}")
    feature = {
        F.IMAGE_ENCODED: _bytes([rec.image_bytes]),
        F.IMAGE_SOURCE_ID: _bytes([rec.source_id.encode("utf-8")]),
        F.IMAGE_HEIGHT: _ints([int(rec.height)]),
        F.IMAGE_WIDTH: _ints([int(rec.width)]),
        F.LANDMARKS_XY: _floats(lm.reshape(-1).tolist()),
        F.LANDMARKS_VISIBLE: _ints(vis.tolist()),
        F.LANDMARKS_SCHEME: _bytes([rec.scheme.encode("utf-8")]),
        F.BBOX_XYXY: _floats(box),
        F.ATTRIBUTES: _ints([int(a) for a in rec.attributes]),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


def shard_names(prefix: str, num_shards: int) -> list[str]:
    """``PREFIX-00000-of-00008.tfrecord`` ... for ``num_shards`` shards."""
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    return [f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]


def remove_stale_temporaries(prefix: str) -> list[str]:
    """Removes the temporary shards ``PREFIX-0000i-of-0000n.tfrecord.tmp`` (any ``n``) a
    killed writer of ``prefix`` left behind; logs and returns their paths.

    Only this prefix's names match: ``PREFIX_train-...`` or ``PREFIXmore-...`` are other
    prefixes and are kept.
    """
    parent = os.path.dirname(os.path.abspath(prefix))
    if not os.path.isdir(parent):
        return []
    name = re.escape(os.path.basename(prefix))
    pattern = re.compile(name + r"-\d{5,}-of-\d{5,}\.tfrecord\.tmp")
    stale = sorted(os.path.join(parent, n) for n in os.listdir(parent) if pattern.fullmatch(n))
    for path in stale:
        os.remove(path)
    if stale:
        logging.warning("removed %d stale temporary shard(s) of an interrupted run: %s",
                        len(stale), ", ".join(stale))
    return stale


class ShardedWriter:
    """Writes Examples round-robin into ``num_shards`` files.

    Files are written as ``NAME.tmp`` and renamed to their final names only by ``close()``
    after every shard was written successfully; on an exception inside a ``with`` block the
    temporary files are removed, so a final-named shard is always complete. A process that
    is killed cannot remove them: the next writer of the same prefix does, on start
    (:func:`remove_stale_temporaries`).
    """

    def __init__(self, prefix: str, num_shards: int = 1):
        self.paths = shard_names(prefix, num_shards)
        parent = os.path.dirname(os.path.abspath(prefix))
        os.makedirs(parent, exist_ok=True)
        remove_stale_temporaries(prefix)
        self._tmp = [p + ".tmp" for p in self.paths]
        self._writers = [tf.io.TFRecordWriter(p) for p in self._tmp]
        self.count = 0

    def write(self, example: tf.train.Example | bytes) -> None:
        data = example if isinstance(example, bytes) else example.SerializeToString()
        self._writers[self.count % len(self._writers)].write(data)
        self.count += 1

    def close(self) -> list[str]:
        for w in self._writers:
            w.close()
        for tmp, final in zip(self._tmp, self.paths, strict=True):
            os.replace(tmp, final)
        return self.paths

    def abort(self) -> None:
        for w in self._writers:
            w.close()
        for tmp in self._tmp:
            if os.path.exists(tmp):
                os.remove(tmp)

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_records(prefix: str, records: Iterable[FaceRecord], num_shards: int = 1) -> list[str]:
    """Serialises ``records`` into ``num_shards`` shards; returns the final paths."""
    with ShardedWriter(prefix, num_shards) as writer:
        for rec in records:
            writer.write(make_example(rec))
    return writer.paths
