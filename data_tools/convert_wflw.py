"""Converts the official WFLW release to TFRecords.

``--input`` is the WFLW root holding
``WFLW_annotations/list_98pt_rect_attr_train_test/list_98pt_rect_attr_{train,test}.txt`` and
``WFLW_images/``. Each annotation line has 207 fields: 196 coordinates ``x0 y0 ... x97 y97``,
the face rect ``x_min y_min x_max y_max``, six attribute flags (pose, expression,
illumination, make-up, occlusion, blur; kept in ``attributes``) and the image path under
``WFLW_images/``. The source id of the n-th face (0-based, file order) of an image is
``PATH#n``.

    python -m data_tools.convert_wflw --input=WFLW_ROOT --subset=train --output=PREFIX
"""

from __future__ import annotations

import collections
import functools
import os
import pathlib
from collections.abc import Iterator

import numpy as np
from absl import flags

from data_tools import cli
from data_tools.images import load_image
from data_tools.items import Item, SkipRecord, attempt, limited
from data_tools.records import FaceRecord
from data_tools.writing import ConversionSummary, OutputSpec

NUM_POINTS = 98
NUM_FIELDS = NUM_POINTS * 2 + 4 + 6 + 1
ANNOTATION_DIR = "WFLW_annotations/list_98pt_rect_attr_train_test"
SUBSETS = ("train", "test")


def annotation_path(root: str | os.PathLike, subset: str) -> pathlib.Path:
    """The official annotation list of ``subset`` (``train`` or ``test``)."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    return pathlib.Path(root) / ANNOTATION_DIR / f"list_98pt_rect_attr_{subset}.txt"


def parse_line(line: str, source: str) -> tuple[np.ndarray, np.ndarray, list[int], str]:
    """One annotation line -> ``(landmarks (98, 2), rect (4,), attributes (6,), image path)``."""
    parts = line.split()
    if len(parts) != NUM_FIELDS:
        raise SkipRecord("bad_line", source, "fields",
                         f"{len(parts)} fields, expected {NUM_FIELDS}")
    try:
        values = np.asarray([float(v) for v in parts[:200]], np.float64)
        attributes = [int(v) for v in parts[200:206]]
    except ValueError as e:
        raise SkipRecord("bad_line", source, "numbers", str(e)) from None
    return values[:196].reshape(NUM_POINTS, 2), values[196:200], attributes, parts[206]


def iter_wflw_items(
    root: str | os.PathLike, subset: str = "test", one_based: bool = False,
    limit: int | None = None,
) -> tuple[Iterator[Item], int]:
    """``(items, count)`` for the faces of one WFLW subset."""
    ann = annotation_path(root, subset)
    if not ann.is_file():
        raise ValueError(f"WFLW annotation file not found: {ann}")
    lines = [ln for ln in ann.read_text().splitlines() if ln.strip()]
    lines = list(limited(lines, limit))
    images = pathlib.Path(root) / "WFLW_images"
    load = functools.lru_cache(maxsize=8)(lambda rel: load_image(images / rel, rel))
    seen: collections.Counter = collections.Counter()

    def build(n: int, line: str) -> list[FaceRecord]:
        lm, rect, attrs, rel = parse_line(line, f"{ann.name}:{n + 1}")
        face = seen[rel]
        seen[rel] += 1
        data, h, w = load(rel)
        shift = 1.0 if one_based else 0.0
        return [FaceRecord(image_bytes=data, source_id=f"{rel}#{face}", height=h, width=w,
                           landmarks=(lm - shift).astype(np.float32), scheme="wflw98",
                           bbox=(rect - shift).astype(np.float32), attributes=attrs)]

    def items() -> Iterator[Item]:
        for n, line in enumerate(lines):
            yield from attempt(f"{ann.name}:{n + 1}", lambda n=n, ln=line: build(n, ln))

    return items(), len(lines)


def convert_wflw(
    input_dir: str | os.PathLike,
    output: OutputSpec,
    subset: str = "test",
    one_based: bool = False,
    limit: int | None = None,
) -> ConversionSummary:
    """Converts one subset of the official WFLW layout to ``output``; returns what was
    written and skipped."""
    items, total = iter_wflw_items(input_dir, subset, one_based, limit)
    return output.write(items, "wflw98", total, desc=f"wflw {subset}")


def define_flags() -> None:
    """The shared converter flags and ``--subset``."""
    cli.define_converter_flags("WFLW root (with WFLW_annotations/ and WFLW_images/).")
    flags.adopt_module_key_flags(cli)
    flags.DEFINE_enum("subset", "train", list(SUBSETS), "Which official list to convert.")


def convert_from_flags(f: flags.FlagValues, output: OutputSpec) -> ConversionSummary:
    """``convert_wflw`` of the command-line flags."""
    return convert_wflw(f.input, output, f.subset, f.one_based, f.limit)


if __name__ == "__main__":
    define_flags()
    cli.run_converter(convert_from_flags)
