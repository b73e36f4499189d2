"""Readers of generic landmark annotation files: CSV rows, JSON lists, COCO keypoints, dlib XML.

Each reader turns one file into :class:`Entry` objects (one annotated face before its image
is loaded) or :class:`~data_tools.items.Skipped` items for the faces it cannot read. The
layouts are described in :mod:`data_tools.convert_generic`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pathlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import numpy as np

from data_tools.items import Skipped, SkipRecord

FORMATS = ("csv", "json", "coco", "dlib_xml")


@dataclasses.dataclass
class Entry:
    """One annotated face before image loading. landmarks (K, 2); box (4,) xyxy or None."""

    image: str
    landmarks: np.ndarray
    box: np.ndarray | None = None
    visible: np.ndarray | None = None
    source: str = ""


def _guard(make: Callable[[], Entry]) -> Entry | Skipped:
    """``make()``, or the :class:`Skipped` of the ``SkipRecord`` it raises."""
    try:
        return make()
    except SkipRecord as e:
        return Skipped(e.reason, str(e))


def _floats(values: Any, source: str, field: str) -> np.ndarray:
    """``values`` as a flat float64 array; ``SkipRecord`` naming ``field`` when they are not
    numbers."""
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
    """Rows ``image, x1, y1, ..., xK, yK[, bx1, by1, bx2, by2]``; a header row (a non-numeric
    second field) is ignored."""
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
    """A ``{"image", "landmarks", "box"?, "visible"?}`` object, or a CSV-like list."""
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
    """The faces of a parsed json-format file (a list of objects or rows)."""
    if not isinstance(data, list):
        raise ValueError(f"{path}: a json-format file holds a list of faces")
    return [_guard(lambda o=o, n=n: _json_entry(o, f"{path.name}[{n}]", num_points))
            for n, o in enumerate(data)]


def _coco_entry(ann: dict, images: dict, source: str) -> Entry:
    """One COCO annotation: ``[x, y, v]`` keypoints (``v > 0``: visible), ``bbox`` x y w h."""
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
    """The annotations of a parsed COCO keypoints file."""
    images = {im["id"]: im for im in data.get("images", [])}
    return [_guard(lambda a=a, n=n: _coco_entry(a, images, f"{path.name}:annotation[{n}]"))
            for n, a in enumerate(data["annotations"])]


def _dlib_entry(image: str, box: ET.Element, source: str) -> Entry:
    """One ``<box>`` with its ``<part>`` points (ordered by numeric part name when all are)."""
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
    """Every ``<box>`` of every ``<image>`` of a dlib imglab XML file."""
    root = ET.parse(path).getroot()
    out: list[Entry | Skipped] = []
    for image in root.iter("image"):
        file = image.get("file", "")
        for n, box in enumerate(image.findall("box")):
            out.append(_guard(lambda b=box, f=file, n=n: _dlib_entry(f, b, f"{f}#box{n}")))
    return out


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
