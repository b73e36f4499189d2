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
``num_points``, ``flip_permutation``, ``boundary_curves``, ``normalisers``
``{name: [[idx, ...], [idx, ...]]}``, ``default_normaliser``; registered through
``awing_tf.schemes.register_scheme``). Without either, the built-in scheme with the annotated
point count is used (68 -> 300w68, 98 -> wflw98, 29 -> cofw29, 14 -> lsp14) and logged.

Images are looked up relative to ``--image_root`` (default: the annotation file's folder).
Faces without a box get the tight box of their visible points. Source ids are
``IMAGE#n`` for the n-th face of an image.

    python -m data_tools.convert_generic --input=ann.json --output=PREFIX [--scheme_file=s.json]
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import functools
import json
import os
import pathlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import numpy as np
from absl import flags, logging

from awing_tf.schemes import SCHEMES, LandmarkScheme, get_scheme, register_scheme
from data_tools import common
from data_tools.common import ConversionSummary, Item, Skipped, SkipRecord
from data_tools.records import FaceRecord

FORMATS = ("csv", "json", "coco", "dlib_xml")


@dataclasses.dataclass
class Entry:
    """One annotated face before image loading. landmarks (K, 2); box (4,) xyxy or None."""

    image: str
    landmarks: np.ndarray
    box: np.ndarray | None = None
    visible: np.ndarray | None = None
    source: str = ""


# === Schemes ===================================================================================
def load_scheme_file(path: str | os.PathLike) -> LandmarkScheme:
    """Reads a user scheme JSON file and registers it; returns the scheme."""
    spec = json.loads(pathlib.Path(path).read_text())
    if not isinstance(spec, dict):
        raise TypeError(f"{path}: a scheme file holds a JSON object, got {type(spec).__name__}")
    missing = {"name", "num_points", "flip_permutation", "normalisers"} - set(spec)
    if missing:
        raise ValueError(f"{path}: scheme file lacks {sorted(missing)}")
    normalisers = {
        str(k): (tuple(int(i) for i in v[0]), tuple(int(i) for i in v[1]))
        for k, v in spec["normalisers"].items()
    }
    scheme = LandmarkScheme(
        name=str(spec["name"]),
        num_points=int(spec["num_points"]),
        flip_permutation=tuple(int(i) for i in spec["flip_permutation"]),
        boundary_curves=tuple(tuple(int(i) for i in c) for c in spec.get("boundary_curves", [])),
        normalisers=normalisers,
        default_normaliser=str(spec.get("default_normaliser", next(iter(normalisers)))),
    )
    return register_scheme(scheme)


def infer_scheme(num_points: int) -> str:
    """The built-in scheme with ``num_points`` points (ValueError when none or ambiguous)."""
    names = [s.name for s in SCHEMES.values() if s.num_points == num_points]
    if len(names) != 1:
        raise ValueError(f"cannot infer a scheme for {num_points} points (candidates {names}); "
                         "pass --scheme or --scheme_file")
    logging.info("scheme inferred from %d points: %s", num_points, names[0])
    return names[0]


# === Readers ===================================================================================
def _floats(values: Any, source: str, field: str) -> np.ndarray:
    try:
        return np.asarray(values, np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise SkipRecord("bad_line", source, field, values) from None


def _row_entry(row: list[Any], source: str, num_points: int | None) -> Entry:
    """A CSV-like row ``image, x1, y1, ..., [box]`` -> Entry."""
    if len(row) < 3:
        raise SkipRecord("bad_line", source, "fields", row)
    values = _floats([str(v).strip() for v in row[1:]], source, "coordinates")
    box = None
    if num_points is not None and len(values) == 2 * num_points + 4:
        values, box = values[:-4], values[-4:]
    if len(values) % 2:
        raise SkipRecord("wrong_point_count", source, "coordinates", f"{len(values)} values")
    return Entry(str(row[0]).strip(), values.reshape(-1, 2), box, None, source)


def read_csv(path: pathlib.Path, num_points: int | None) -> list[Entry | Skipped]:
    out: list[Entry | Skipped] = []
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if rows and len(rows[0]) > 1:
        try:
            float(rows[0][1])
        except ValueError:
            rows = rows[1:]  # header
    for n, row in enumerate(rows):
        out.append(_guard(lambda row=row, n=n: _row_entry(row, f"{path.name}:{n + 1}",
                                                         num_points)))
    return out


def _json_entry(obj: Any, source: str, num_points: int | None) -> Entry:
    if isinstance(obj, list):
        return _row_entry(obj, source, num_points)
    if not isinstance(obj, dict) or "image" not in obj or "landmarks" not in obj:
        raise SkipRecord("bad_line", source, "entry", obj)
    lm = _floats(obj["landmarks"], source, "landmarks")
    if len(lm) % 2:
        raise SkipRecord("wrong_point_count", source, "landmarks", f"{len(lm)} values")
    box = _floats(obj["box"], source, "box") if obj.get("box") is not None else None
    vis = np.asarray(obj["visible"], np.int64) if obj.get("visible") is not None else None
    return Entry(str(obj["image"]), lm.reshape(-1, 2), box, vis, source)


def read_json_list(data: Any, path: pathlib.Path, num_points: int | None) -> list[Entry | Skipped]:
    if not isinstance(data, list):
        raise ValueError(f"{path}: a json-format file holds a list of faces")
    return [_guard(lambda o=o, n=n: _json_entry(o, f"{path.name}[{n}]", num_points))
            for n, o in enumerate(data)]


def _coco_entry(ann: dict, images: dict, source: str) -> Entry:
    img = images.get(ann.get("image_id"))
    if img is None:
        raise SkipRecord("missing_image", source, "image_id", ann.get("image_id"))
    kp = _floats(ann.get("keypoints", []), source, "keypoints")
    if len(kp) == 0 or len(kp) % 3:
        raise SkipRecord("wrong_point_count", source, "keypoints", f"{len(kp)} values")
    kp = kp.reshape(-1, 3)
    box = None
    if ann.get("bbox") is not None:
        x, y, w, h = _floats(ann["bbox"], source, "bbox")
        box = np.asarray([x, y, x + w, y + h])
    return Entry(str(img["file_name"]), kp[:, :2], box, (kp[:, 2] > 0).astype(np.int64), source)


def read_coco(data: dict, path: pathlib.Path) -> list[Entry | Skipped]:
    images = {im["id"]: im for im in data.get("images", [])}
    return [_guard(lambda a=a, n=n: _coco_entry(a, images, f"{path.name}:annotation[{n}]"))
            for n, a in enumerate(data["annotations"])]


def _dlib_entry(image: str, box: ET.Element, source: str) -> Entry:
    if box.get("ignore", "0") not in ("0", ""):
        raise SkipRecord("ignored_box", source, "ignore", box.get("ignore"))
    parts = box.findall("part")
    if not parts:
        raise SkipRecord("no_landmarks", source, "part", "none")
    names = [p.get("name", "") for p in parts]
    if all(n.isdigit() for n in names):
        parts = [p for _, p in sorted(zip((int(n) for n in names), parts, strict=True),
                                      key=lambda t: t[0])]
    lm = _floats([[p.get("x"), p.get("y")] for p in parts], source, "part")
    t, left, w, h = (_floats([box.get(k)], source, k)[0]
                     for k in ("top", "left", "width", "height"))
    return Entry(image, lm.reshape(-1, 2), np.asarray([left, t, left + w, t + h]), None, source)


def read_dlib_xml(path: pathlib.Path) -> list[Entry | Skipped]:
    root = ET.parse(path).getroot()
    out: list[Entry | Skipped] = []
    for image in root.iter("image"):
        file = image.get("file", "")
        for n, box in enumerate(image.findall("box")):
            out.append(_guard(lambda b=box, f=file, n=n: _dlib_entry(f, b, f"{f}#box{n}")))
    return out


def _guard(make: Any) -> Entry | Skipped:
    try:
        return make()
    except SkipRecord as e:
        return Skipped(e.reason, str(e))


def detect_format(path: pathlib.Path) -> tuple[str, Any]:
    """``(format, parsed JSON or None)`` from the extension (and content for JSON)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv", None
    if suffix == ".xml":
        return "dlib_xml", None
    if suffix == ".json":
        data = json.loads(path.read_text())
        return ("coco" if isinstance(data, dict) and "annotations" in data else "json"), data
    raise ValueError(f"cannot tell the format of {path}; pass --format (one of {FORMATS})")


def read_entries(path: pathlib.Path, fmt: str | None, num_points: int | None
                 ) -> list[Entry | Skipped]:
    """Parses an annotation file of format ``fmt`` (None: detect) into entries/skips."""
    data = None
    if fmt is None:
        fmt, data = detect_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt in ("json", "coco") and data is None:
        data = json.loads(path.read_text())
    if fmt == "csv":
        return read_csv(path, num_points)
    if fmt == "json":
        return read_json_list(data, path, num_points)
    if fmt == "coco":
        if not isinstance(data, dict) or "annotations" not in data:
            raise ValueError(f"{path}: COCO JSON needs an 'annotations' list")
        return read_coco(data, path)
    return read_dlib_xml(path)


# === Conversion ================================================================================
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
    entries = list(common.limited(read_entries(path, fmt, k), limit))
    if scheme is None:
        counts = collections.Counter(len(e.landmarks) for e in entries if isinstance(e, Entry))
        if not counts:
            raise ValueError(f"{path}: no usable face to infer the scheme from")
        scheme = infer_scheme(counts.most_common(1)[0][0])
    root = pathlib.Path(image_root) if image_root else path.parent
    load = functools.lru_cache(maxsize=8)(lambda rel: common.load_image(root / rel, rel))
    faces: collections.Counter = collections.Counter()

    def build(e: Entry) -> list[FaceRecord]:
        n = faces[e.image]
        faces[e.image] += 1
        data, h, w = load(e.image)
        lm = e.landmarks - (1.0 if one_based else 0.0)
        if e.box is not None:
            box = e.box - (1.0 if one_based else 0.0)
        elif np.all(np.isfinite(lm)):
            box = common.tight_box(lm, e.visible)
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
                yield from common.attempt(e.source, lambda e=e: build(e))

    return items(), len(entries), scheme


def convert_generic(
    annotation_file: str | os.PathLike,
    output_prefix: str,
    scheme: str | None = None,
    scheme_file: str | os.PathLike | None = None,
    fmt: str | None = None,
    image_root: str | os.PathLike | None = None,
    num_shards: int = 1,
    split: str | dict[str, float] | None = None,
    seed: int = 0,
    one_based: bool = False,
    limit: int | None = None,
) -> ConversionSummary:
    """Converts one generic annotation file; returns what was written and skipped."""
    items, total, name = iter_generic_items(annotation_file, scheme, scheme_file, fmt,
                                            image_root, one_based, limit)
    return common.write_items(items, output_prefix, name, num_shards, split, seed, total,
                              desc="generic")


def define_flags() -> None:
    common.define_common_flags(None, "Annotation file (.csv, .json, COCO .json, dlib .xml).")
    flags.adopt_module_key_flags(common)
    flags.DEFINE_string("scheme_file", None, "User scheme JSON (see the module docstring).")
    flags.DEFINE_enum("format", None, list(FORMATS),
                      "Annotation format; default: from the extension (coco when a JSON file "
                      "has 'annotations').")
    flags.DEFINE_string("image_root", None,
                        "Folder the image paths are relative to (default: the input's folder).")


def main(argv: list[str]) -> None:
    del argv
    f = flags.FLAGS
    convert_generic(f.input, f.output, f.scheme, f.scheme_file, f.format, f.image_root,
                    f.num_shards, f.split, f.seed, f.one_based, f.limit)


if __name__ == "__main__":
    define_flags()
    common.run_converter(main)
