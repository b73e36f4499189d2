"""Converts 300W-style folders (images + same-stem ``.pts`` files) to TFRecords.

Layout: any folder tree (the official 300W/iBUG release: ``afw/``, ``helen/trainset``,
``lfpw/testset``, ``ibug/``; or ``300w_common/``) with ``NAME.pts`` next to ``NAME.<image>``.
A ``.pts`` file is ``version: 1``, ``n_points: K``, ``{``, K lines ``x y``, ``}``.

Coordinates: the project convention is 0-based pixel centres at integer coordinates. The
official 300W release uses 1-based (MATLAB) coordinates: pass ``--pts_one_based`` (alias of
``--one_based``) to subtract 1. Nothing is subtracted by default: ``300w_common`` stores crop
pixels already.

Boxes come from ``--bbox_file`` (``NAME x1 y1 x2 y2`` lines, NAME the image path relative to
``--input``) when given, otherwise the tight box of the landmarks.

    python -m data_tools.convert_300w --input=DIR --output=PREFIX [--bbox_file=...]
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import numpy as np
from absl import flags, logging

from awing_tf.box_files import read_box_file
from awing_tf.files import IMAGE_EXTENSIONS
from awing_tf.schemes import get_scheme
from data_tools import cli
from data_tools.boxes import tight_box
from data_tools.images import load_image
from data_tools.items import Item, SkipRecord, attempt, limited
from data_tools.records import FaceRecord
from data_tools.writing import ConversionSummary, OutputSpec


def parse_pts(text: str, source: str, num_points: int | None = None) -> np.ndarray:
    """Parses 300W ``.pts`` text into (K, 2) float64 ``x, y``.

    Raises ``SkipRecord`` (reason ``bad_pts``) on malformed text and ``wrong_point_count``
    when the header, the body and ``num_points`` (if given) disagree.
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    header_n = None
    for ln in lines:
        if ln.lower().startswith("n_points"):
            _, _, value = ln.partition(":")
            try:
                header_n = int(value)
            except ValueError:
                raise SkipRecord("bad_pts", source, "n_points", value.strip()) from None
    if "{" not in lines or "}" not in lines:
        raise SkipRecord("bad_pts", source, "braces", "missing '{' or '}'")
    body = lines[lines.index("{") + 1 : lines.index("}")]
    points = []
    for i, ln in enumerate(body):
        parts = ln.split()
        if len(parts) != 2:
            raise SkipRecord("bad_pts", source, f"point {i}", ln)
        try:
            points.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise SkipRecord("bad_pts", source, f"point {i}", ln) from None
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if header_n is not None and header_n != len(pts):
        raise SkipRecord("wrong_point_count", source, "n_points",
                         f"header says {header_n}, file has {len(pts)} points")
    if num_points is not None and len(pts) != num_points:
        raise SkipRecord("wrong_point_count", source, "n_points",
                         f"{len(pts)} points, expected {num_points}")
    return pts


def read_bbox_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``NAME x1 y1 x2 y2`` lines -> {NAME: (4,) float32}, one box per name (300W's
    ``bbox.txt``). Malformed lines, and a name given twice, raise ValueError."""
    boxes = read_box_file(path, check_extent=False)
    for name, found in boxes.items():
        if len(found) != 1:
            raise ValueError(f"{path}: {name} has {len(found)} boxes; a .pts file holds one face")
    return {name: found[0] for name, found in boxes.items()}


def find_image(pts_path: pathlib.Path) -> pathlib.Path | None:
    """The image with the same stem as ``pts_path`` (first known extension), or None."""
    for ext in IMAGE_EXTENSIONS:
        for cand in (pts_path.with_suffix(ext), pts_path.with_suffix(ext.upper())):
            if cand.is_file():
                return cand
    return None


def pts_record(
    pts_path: pathlib.Path,
    root: pathlib.Path,
    scheme: str,
    boxes: dict[str, np.ndarray] | None,
    one_based: bool,
) -> FaceRecord:
    """One FaceRecord from one ``.pts`` file and its image (raises ``SkipRecord``)."""
    source = pts_path.relative_to(root).as_posix()
    k = get_scheme(scheme).num_points
    try:
        text = pts_path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as e:
        raise SkipRecord("bad_pts", source, "file", str(e)) from None
    pts = parse_pts(text, source, k)
    if one_based:
        pts = pts - 1.0
    image_path = find_image(pts_path)
    if image_path is None:
        raise SkipRecord("missing_image", source, "image", f"no image named {pts_path.stem}.*")
    rel = image_path.relative_to(root).as_posix()
    data, h, w = load_image(image_path, rel)
    if boxes is not None and rel in boxes:
        box = boxes[rel] - (1.0 if one_based else 0.0)
    else:
        if not np.all(np.isfinite(pts)):
            raise SkipRecord("non_finite_landmarks", rel, "landmarks", "NaN/inf in .pts")
        box = tight_box(pts)
    return FaceRecord(image_bytes=data, source_id=rel, height=h, width=w,
                      landmarks=pts.astype(np.float32), scheme=scheme, bbox=box)


def iter_pts_files(root: pathlib.Path) -> list[pathlib.Path]:
    """All ``.pts`` files under ``root``, sorted by relative path."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() == ".pts" and p.is_file())


def iter_300w_items(
    input_dir: str | os.PathLike,
    scheme: str = "300w68",
    bbox_file: str | os.PathLike | None = None,
    one_based: bool = False,
    limit: int | None = None,
) -> tuple[Iterator[Item], int]:
    """``(items, count)``: records (or skips) of every ``.pts`` under ``input_dir``."""
    root = pathlib.Path(input_dir)
    if not root.is_dir():
        raise ValueError(f"input_dir {str(input_dir)!r} is not a directory")
    get_scheme(scheme)
    boxes = read_bbox_file(bbox_file) if bbox_file else None
    files = list(limited(iter_pts_files(root), limit))

    def items() -> Iterator[Item]:
        for p in files:
            yield from attempt(str(p), lambda p=p: [pts_record(p, root, scheme, boxes, one_based)])

    return items(), len(files)


def convert_300w(
    input_dir: str | os.PathLike,
    output: OutputSpec,
    bbox_file: str | os.PathLike | None = None,
    scheme: str = "300w68",
    one_based: bool = False,
    limit: int | None = None,
) -> ConversionSummary:
    """Converts a 300W-style folder tree to ``output``; returns what was written and skipped."""
    items, total = iter_300w_items(input_dir, scheme, bbox_file, one_based, limit)
    return output.write(items, scheme, total, desc="300w")


def define_flags() -> None:
    """The shared converter flags, ``--scheme``, ``--pts_one_based`` and ``--bbox_file``."""
    cli.define_converter_flags("Folder tree of images with same-stem .pts files.")
    cli.define_scheme_flag("300w68")
    flags.adopt_module_key_flags(cli)
    flags.DEFINE_alias("pts_one_based", "one_based")
    flags.DEFINE_string("bbox_file", None,
                        "Optional box file: 'NAME x1 y1 x2 y2' lines, NAME relative to --input. "
                        "Without it (or for names not in it) the tight landmark box is used.")


def convert_from_flags(f: flags.FlagValues, output: OutputSpec) -> ConversionSummary:
    """``convert_300w`` of the command-line flags."""
    logging.info("converting %s", f.input)
    return convert_300w(f.input, output, f.bbox_file, f.scheme, f.one_based, f.limit)


if __name__ == "__main__":
    define_flags()
    cli.run_converter(convert_from_flags)
