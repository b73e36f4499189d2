"""Writing a stream of converted items to TFRecord shards, and the summary of what happened.

:func:`write_items` validates the records, assigns them to splits, writes the shards through
:class:`~data_tools.records.ShardedWriter` with a tqdm progress bar, and returns a
:class:`ConversionSummary` (faces written per split, skipped items counted by reason).
:class:`OutputSpec` bundles where and how a converter writes (prefix, shards, split, seed).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable

from absl import logging
from tqdm import tqdm

from awing_tf.schemes import LandmarkScheme, get_scheme
from data_tools.items import Item, Skipped, SkipRecord
from data_tools.records import ShardedWriter, make_example
from data_tools.splits import group_of, parse_split, split_of, split_prefix
from data_tools.validation import validate_record


@dataclasses.dataclass
class ConversionSummary:
    """What a conversion did: faces per split, skipped items by reason, written shard paths."""

    written: dict[str, int] = dataclasses.field(default_factory=dict)
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    paths: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def total_written(self) -> int:
        """Faces written over all splits."""
        return sum(self.written.values())

    @property
    def total_skipped(self) -> int:
        """Source items skipped over all reasons."""
        return sum(self.skipped.values())

    def log(self) -> None:
        """Logs the faces per split, the skips per reason and the shard paths."""
        per_split = ", ".join(f"{k}: {v}" for k, v in self.written.items()) or "none"
        logging.info("faces written: %d (%s)", self.total_written, per_split)
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items())) or "none"
        logging.info("skipped: %d (%s)", self.total_skipped, reasons)
        for name, paths in self.paths.items():
            logging.info("split %r -> %s ... (%d shards)", name, paths[0], len(paths))


def write_items(
    items: Iterable[Item],
    output_prefix: str,
    scheme: str | LandmarkScheme,
    num_shards: int = 1,
    split: str | dict[str, float] | None = None,
    seed: int = 0,
    total: int | None = None,
    desc: str = "faces",
) -> ConversionSummary:
    """Validates ``items``, writes the good records, counts the skipped ones by reason.

    Without ``split`` all records go to ``PREFIX-0000i-of-0000n.tfrecord``; with it each
    split ``s`` goes to ``PREFIX_s-...``, chosen per image by a hash of ``seed`` and the image
    id (so all faces of one image land in one split and the choice does not depend on order).
    All shards are renamed to their final names only when everything was written.
    """
    scheme_obj = get_scheme(scheme)
    fractions = parse_split(split)
    names: list[str | None] = list(fractions) if fractions else [None]
    summary = ConversionSummary(written={str(n) if n else "all": 0 for n in names})
    writers = {n: ShardedWriter(split_prefix(output_prefix, n), num_shards) for n in names}
    try:
        for item in tqdm(items, total=total, desc=desc, unit="item", mininterval=1.0):
            if isinstance(item, Skipped):
                _count_skip(summary, item.reason, item.message)
                continue
            try:
                validate_record(item, scheme_obj)
            except SkipRecord as e:
                _count_skip(summary, e.reason, str(e))
                continue
            name = split_of(group_of(item.source_id), fractions, seed) if fractions else None
            writers[name].write(make_example(item))
            summary.written[str(name) if name else "all"] += 1
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    for n, w in writers.items():
        summary.paths[str(n) if n else "all"] = w.close()
    summary.log()
    return summary


def _count_skip(summary: ConversionSummary, reason: str, message: str) -> None:
    """Counts one skipped item under ``reason`` and logs why it was skipped."""
    summary.skipped[reason] += 1
    logging.warning("skipped %s", message)


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """Where a conversion writes: ``PREFIX-0000i-of-0000n.tfrecord`` shards, ``num_shards``
    per split; ``split`` (e.g. ``"train=0.9,val=0.1"``) and its ``seed`` as in
    :func:`write_items`."""

    prefix: str
    num_shards: int = 1
    split: str | dict[str, float] | None = None
    seed: int = 0

    def write(self, items: Iterable[Item], scheme: str | LandmarkScheme,
              total: int | None = None, desc: str = "faces") -> ConversionSummary:
        """Writes ``items`` of ``scheme`` here (``total``, ``desc``: the progress bar's)."""
        return write_items(items, self.prefix, scheme, self.num_shards, self.split, self.seed,
                           total, desc)
