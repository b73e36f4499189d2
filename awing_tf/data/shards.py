"""Counting the records of TFRecord shards."""

from __future__ import annotations

import tensorflow as tf

from awing_tf.files import find_files


def count_records(file_pattern: str | list[str]) -> int:
    """Number of serialized records in the files matching ``file_pattern``.

    Raises ``ValueError`` naming the pattern when it matches no files.
    """
    files = find_files(file_pattern)
    if not files:
        raise ValueError(f"no TFRecord files match {file_pattern!r}")
    return int(tf.data.TFRecordDataset(files).reduce(0, lambda n, _: n + 1))
