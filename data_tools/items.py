"""What a converter yields per source item: a record, or the reason the item was dropped.

Every converter turns its source format into a stream of items, each either a
:class:`~data_tools.records.FaceRecord` or a :class:`Skipped`. A bad source item never stops
a conversion: parsing code raises :class:`SkipRecord` (naming the file, the field and the
offending value) and :func:`attempt` turns it into a :class:`Skipped`, which
:func:`data_tools.writing.write_items` counts by reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from data_tools.records import FaceRecord


class SkipRecord(Exception):
    """One source item cannot be converted; carries a short ``reason`` key and details."""

    def __init__(self, reason: str, source: str, field: str, value: Any):
        self.reason = reason
        self.source = source
        self.field = field
        self.value = value
        super().__init__(f"{source}: {reason} ({field}={_short(value)})")


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A dropped source item: ``reason`` is the counting key, ``message`` the logged text."""

    reason: str
    message: str


Item = FaceRecord | Skipped


def _short(value: Any, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def attempt(source: str, build: Callable[[], Iterable[FaceRecord]]) -> Iterator[Item]:
    """Runs ``build()`` for one source item; yields its records or one :class:`Skipped`.

    ``SkipRecord`` keeps its reason; ``OSError`` / ``ValueError`` / ``KeyError`` / ``IndexError``
    raised while parsing become ``reason="error"`` so one bad item never ends the run.
    """
    try:
        records = list(build())
    except SkipRecord as e:
        yield Skipped(e.reason, str(e))
        return
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        yield Skipped("error", f"{source}: {type(e).__name__}: {e}")
        return
    yield from records


def limited(items: Iterable[Any], limit: int | None) -> Iterator[Any]:
    """The first ``limit`` items (all when ``limit`` is None or <= 0)."""
    for i, item in enumerate(items):
        if limit and limit > 0 and i >= limit:
            return
        yield item
