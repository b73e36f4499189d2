"""Benchmark splits as TFRecords: a filtered stream of converter items in one shard."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def write_filtered(items: Iterable[Any], output_prefix: str, scheme: str,
                   keep: Callable[[Any], bool]) -> int:
    """Writes the records of ``items`` that ``keep`` accepts (skips are passed through, to be
    counted) to one shard ``PREFIX-00000-of-00001.tfrecord``; returns the number written."""
    from data_tools.items import Skipped
    from data_tools.writing import write_items

    def selected() -> Iterator[Any]:
        for item in items:
            if isinstance(item, Skipped) or keep(item):
                yield item

    summary = write_items(selected(), output_prefix, scheme,
                          desc=os.path.basename(output_prefix))
    return int(summary.written["all"])


def records_glob(prefix: str) -> str:
    """The glob of the shards written under ``prefix``."""
    return f"{prefix}-*.tfrecord"
