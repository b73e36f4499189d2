"""Converts generic landmark annotations (CSV, JSON, COCO keypoints, dlib XML) to TFRecords.

Formats (``--format``; default from the file: ``.csv`` -> csv, ``.xml`` -> dlib_xml, ``.json``
-> coco when it has ``"annotations"``, else json):

* ``csv``: rows ``image, x1, y1, ..., xK, yK[, bx1, by1, bx2, by2]``; an optional header row
  (detected by a non-numeric second field) is ignored.
* ``json``: a list of ``{"image": str, "landmarks": [[x, y], ...] or [x1, y1, ...],
  "box": [x1, y1, x2, y2] (optional), "visible": [0/1, ...] (optional)}``, or a list of rows
  as in the CSV.
* ``coco``: COCO-style keypoints (``images``, ``annotations`` with ``keypoints`` as
  ``[x, y, v]`` triplets and ``bbox`` as ``[x, y, w, h]``), e.g. the mmpose samples. ``v = 0``
  means not annotated -> ``visible = 0``; ``v = 1`` and ``v = 2`` both give ``visible = 1``
  (mmpose's face files use 1 for every annotated point).
* ``dlib_xml``: dlib imglab XML, ``<image file=...><box top left width height>
  <part name x y/>...</box></image>``; the box is ``left, top, left + width, top + height``;
  boxes with ``ignore='1'`` or no parts are skipped.

Scheme: ``--scheme`` (a built-in name) or ``--scheme_file`` (JSON with ``name``,
``num_points``, ``flip_permutation``, ``boundary_curves``, ``normalizers``
``{name: [[idx, ...], [idx, ...]]}``, ``default_normalizer``; registered through
``awing_tf.schemes.register_scheme``). Without either, the built-in scheme with the annotated
point count is used (68 -> 300w68, 98 -> wflw98, 29 -> cofw29, 14 -> lsp14) and logged.

Images are looked up relative to ``--image_root`` (default: the annotation file's folder).
Faces without a box get the tight box of their visible points. Source ids are
``IMAGE#n`` for the n-th face of an image.

    python -m data_tools.convert_generic --input=ann.json --output=PREFIX [--scheme_file=s.json]
"""

from __future__ import annotations

import collections
import functools
import os
import pathlib
from collections.abc import Iterator

import numpy as np
from absl import flags

from awing_tf.schemes import get_scheme
from data_tools import cli
from data_tools.annotation_files import FORMATS, Entry, read_entries
from data_tools.boxes import tight_box
from data_tools.images import load_image
from data_tools.items import Item, Skipped, attempt, limited
from data_tools.records import FaceRecord
from data_tools.scheme_files import infer_scheme, load_scheme_file
from data_tools.writing import ConversionSummary, OutputSpec


def iter_generic_items(
    annotation_file: str | os.PathLike,
    scheme: str | None = None,
    scheme_file: str | os.PathLike | None = None,
    fmt: str | None = None,
    image_root: str | os.PathLike | None = None,
    one_based: bool = False,
    limit: int | None = None,
) -> tuple[Iterator[Item], int, str]:
    """``(items, count, scheme name)`` for one annotation file."""
    path = pathlib.Path(annotation_file)
    if not path.is_file():
        raise ValueError(f"annotation file not found: {path}")
    if scheme_file:
        scheme = load_scheme_file(scheme_file).name
    k = get_scheme(scheme).num_points if scheme else None
    entries = list(limited(read_entries(path, fmt, k), limit))
    if scheme is None:
        counts = collections.Counter(len(e.landmarks) for e in entries if isinstance(e, Entry))
        if not counts:
            raise ValueError(f"{path}: no usable face to infer the scheme from")
        scheme = infer_scheme(counts.most_common(1)[0][0])
    root = pathlib.Path(image_root) if image_root else path.parent
    load = functools.lru_cache(maxsize=8)(lambda rel: load_image(root / rel, rel))
    faces: collections.Counter = collections.Counter()

    def build(e: Entry) -> list[FaceRecord]:
        n = faces[e.image]
        faces[e.image] += 1
        data, h, w = load(e.image)
        lm = e.landmarks - (1.0 if one_based else 0.0)
        if e.box is not None:
            box = e.box - (1.0 if one_based else 0.0)
        elif np.all(np.isfinite(lm)):
            box = tight_box(lm, e.visible)
        else:
            box = np.full(4, np.nan)
        return [FaceRecord(image_bytes=data, source_id=f"{e.image}#{n}", height=h, width=w,
                           landmarks=lm.astype(np.float32), scheme=scheme, bbox=box,
                           visible=e.visible)]

    def items() -> Iterator[Item]:
        for e in entries:
            if isinstance(e, Skipped):
                yield e
            else:
                yield from attempt(e.source, lambda e=e: build(e))

    return items(), len(entries), scheme


def convert_generic(
    annotation_file: str | os.PathLike,
    output: OutputSpec,
    scheme: str | None = None,
    scheme_file: str | os.PathLike | None = None,
    fmt: str | None = None,
    image_root: str | os.PathLike | None = None,
    one_based: bool = False,
    limit: int | None = None,
) -> ConversionSummary:
    """Converts one generic annotation file to ``output``; returns what was written and
    skipped."""
    items, total, name = iter_generic_items(annotation_file, scheme, scheme_file, fmt,
                                            image_root, one_based, limit)
    return output.write(items, name, total, desc="generic")


def define_flags() -> None:
    """The shared converter flags, ``--scheme``, ``--scheme_file``, ``--format`` and
    ``--image_root``."""
    cli.define_converter_flags("Annotation file (.csv, .json, COCO .json, dlib .xml).")
    cli.define_scheme_flag(None)
    flags.adopt_module_key_flags(cli)
    flags.DEFINE_string("scheme_file", None, "User scheme JSON (see the module docstring).")
    flags.DEFINE_enum("format", None, list(FORMATS),
                      "Annotation format; default: from the extension (coco when a JSON file "
                      "has 'annotations').")
    flags.DEFINE_string("image_root", None,
                        "Folder the image paths are relative to (default: the input's folder).")


def convert_from_flags(f: flags.FlagValues, output: OutputSpec) -> ConversionSummary:
    """``convert_generic`` of the command-line flags."""
    return convert_generic(f.input, output, f.scheme, f.scheme_file, f.format, f.image_root,
                           f.one_based, f.limit)


if __name__ == "__main__":
    define_flags()
    cli.run_converter(convert_from_flags)
