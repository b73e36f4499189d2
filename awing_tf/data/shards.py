"""Counting the records of TFRecord shards."""

from __future__ import annotations

import tensorflow as tf

from awing_tf.files import find_files


def count_records(file_pattern: str | list[str], skip_bad: bool = False) -> int:
    """Number of serialized records in the files matching ``file_pattern``.

    Local shards are counted by their framing (``awing_tf.data.record_check``): a truncated
    or non-record shard raises ``RecordError`` naming it, or with ``skip_bad`` counts the
    records before the error (``on_bad_record=skip``). Raises ``ValueError`` naming the
    pattern when it matches no files.
    """
    from awing_tf.data.record_validation import shard_counts

    files = find_files(file_pattern)
    if not files:
        raise ValueError(f"no TFRecord files match {file_pattern!r}")
    counts = shard_counts(files, skip_bad)
    remote = [f for f, n in zip(files, counts, strict=True) if n < 0]
    total = sum(n for n in counts if n >= 0)
    if remote:
        total += int(tf.data.TFRecordDataset(remote).reduce(0, lambda n, _: n + 1))
    return total
