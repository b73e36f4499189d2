"""Shared converter plumbing: image loading, record validation, skip counting, splits, flags.

Every converter turns its source format into a stream of items, each either a
:class:`~data_tools.records.FaceRecord` or a :class:`Skipped` (the reason one source item was
dropped). :func:`write_items` validates the records, assigns them to splits, writes the shards
through :class:`~data_tools.records.ShardedWriter` with a tqdm progress bar, and returns a
:class:`ConversionSummary` (faces written per split, skipped items counted by reason).

A bad item never stops a conversion: parsing errors become :class:`SkipRecord` exceptions
inside the converter (caught by :func:`attempt`) and records that fail
:func:`validate_record` are skipped by :func:`write_items`; both log the file, the field and
the offending value.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import cv2
import numpy as np
from absl import app, flags, logging
from tqdm import tqdm

from awing_tf.schemes import LandmarkScheme, get_scheme
from data_tools.records import FaceRecord, ShardedWriter, make_example

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- skipping --------------------------------------------------------------------------------
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


# --- images ----------------------------------------------------------------------------------
def _jpeg_complete(data: bytes) -> bool:
    """A JPEG is complete when its end-of-image marker FFD9 is near the end of the bytes."""
    return data.rfind(b"\xff\xd9") >= max(0, len(data) - 4096)


def decode_image(data: bytes, source: str) -> np.ndarray:
    """Decodes encoded image bytes to a (H, W, 3) uint8 BGR array or raises ``SkipRecord``.

    A truncated JPEG (OpenCV decodes those partially, grey at the bottom) is rejected by
    checking its end-of-image marker; a truncated PNG fails to decode.
    """
    if len(data) == 0:
        raise SkipRecord("unreadable_image", source, "image bytes", "empty file")
    if data.startswith(_JPEG_MAGIC) and not _jpeg_complete(data):
        raise SkipRecord("unreadable_image", source, "image bytes", "truncated JPEG (no EOI)")
    if data.startswith(_PNG_MAGIC) and b"IEND" not in data[-64:]:
        raise SkipRecord("unreadable_image", source, "image bytes", "truncated PNG (no IEND)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise SkipRecord("unreadable_image", source, "image bytes", f"{data[:8]!r}...")
    return image


def encode_png(image: np.ndarray, source: str) -> bytes:
    """PNG bytes of a (H, W, 3) BGR or (H, W) grey uint8 array."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise SkipRecord("unreadable_image", source, "image", "PNG encoding failed")
    return buf.tobytes()


def load_image_bytes(data: bytes, source: str) -> tuple[bytes, int, int]:
    """Validates encoded bytes by decoding them; returns ``(encoded, height, width)``.

    JPEG and PNG bytes are kept as they are; any other format (BMP, PPM, TIFF, ...) is
    re-encoded as PNG. Height and width come from the decoded image.
    """
    image = decode_image(data, source)
    h, w = image.shape[:2]
    if not (data.startswith(_JPEG_MAGIC) or data.startswith(_PNG_MAGIC)):
        data = encode_png(image, source)
    return data, int(h), int(w)


def load_image(path: str | os.PathLike, source: str | None = None) -> tuple[bytes, int, int]:
    """Reads and validates one image file; returns ``(encoded bytes, height, width)``."""
    source = source or str(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise SkipRecord("missing_image", source, "path", str(path)) from None
    except OSError as e:
        raise SkipRecord("unreadable_image", source, "path", f"{path}: {e}") from None
    return load_image_bytes(data, source)


def load_matlab_v5(path: str | os.PathLike) -> dict[str, Any]:
    """``scipy.io.loadmat`` of a MATLAB v4-v7.2 file; a missing file raises
    ``FileNotFoundError`` and an unreadable one ``ValueError``, both naming the file."""
    import scipy.io  # noqa: PLC0415 (only the .mat converters need it)

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as e:
        raise ValueError(f"{path}: not a readable MATLAB file ({type(e).__name__}: {e})") from e


def array_to_png(image: np.ndarray, source: str, rgb: bool = True) -> tuple[bytes, int, int]:
    """PNG bytes of a decoded (H, W), (H, W, 1) or (H, W, 3) array (RGB order by default)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        if not np.issubdtype(img.dtype, np.number):
            raise SkipRecord("unreadable_image", source, "image dtype", str(img.dtype))
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 3 and rgb:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if img.ndim not in (2, 3) or min(img.shape[:2]) < 1:
        raise SkipRecord("unreadable_image", source, "image shape", img.shape)
    return encode_png(np.ascontiguousarray(img), source), int(img.shape[0]), int(img.shape[1])


# --- boxes and validation --------------------------------------------------------------------
def tight_box(points: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
    """(4,) ``x1 y1 x2 y2`` of the (K, 2) ``points`` (only the visible ones when given)."""
    pts = np.asarray(points, np.float64)
    if visible is not None and np.any(np.asarray(visible) > 0):
        pts = pts[np.asarray(visible) > 0]
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)


def enlarge_box(box: Sequence[float], margin: float, height: int, width: int) -> np.ndarray:
    """``box`` grown by ``margin`` of its size on every side, clipped to the image."""
    x1, y1, x2, y2 = (float(v) for v in box)
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    out = [max(0.0, x1 - dx), max(0.0, y1 - dy), min(width - 1.0, x2 + dx),
           min(height - 1.0, y2 + dy)]
    return np.asarray(out, np.float32)


def validate_record(rec: FaceRecord, scheme: LandmarkScheme) -> None:
    """Raises ``SkipRecord`` when ``rec`` is not a usable face of ``scheme``.

    Checks: (K, 2) landmarks with K = ``scheme.num_points``, finite coordinates, a finite
    non-degenerate box that overlaps the image (a box partly outside the image is kept;
    detector boxes of faces at the border are like that).
    """
    lm = np.asarray(rec.landmarks, np.float64)
    if lm.ndim != 2 or lm.shape != (scheme.num_points, 2):
        raise SkipRecord("wrong_point_count", rec.source_id, "landmarks",
                         f"shape {lm.shape}, scheme {scheme.name} needs ({scheme.num_points}, 2)")
    if not np.all(np.isfinite(lm)):
        bad = np.argwhere(~np.isfinite(lm))[0]
        raise SkipRecord("non_finite_landmarks", rec.source_id, f"landmarks[{bad[0]}]",
                         lm[bad[0]].tolist())
    box = np.asarray(rec.bbox, np.float64).reshape(-1)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise SkipRecord("bad_box", rec.source_id, "bbox", box.tolist())
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        raise SkipRecord("bad_box", rec.source_id, "bbox", box.tolist())
    if x2 <= 0 or y2 <= 0 or x1 >= rec.width or y1 >= rec.height:
        raise SkipRecord("box_outside_image", rec.source_id, "bbox",
                         f"{box.tolist()} in image {rec.width}x{rec.height}")
    if rec.scheme != scheme.name:
        raise SkipRecord("wrong_scheme", rec.source_id, "scheme", rec.scheme)


# --- splits ----------------------------------------------------------------------------------
def parse_split(spec: str | dict[str, float] | None) -> dict[str, float] | None:
    """``"train=0.9,val=0.1"`` -> ``{"train": 0.9, "val": 0.1}``; fractions must sum to 1."""
    if spec is None or spec == "":
        return None
    if isinstance(spec, dict):
        fractions = {str(k): float(v) for k, v in spec.items()}
    elif isinstance(spec, str):
        fractions = {}
        for part in spec.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"split must look like 'train=0.9,val=0.1', got {spec!r}")
            try:
                fractions[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"split {name!r}: fraction {value!r} is not a number") from None
    else:
        raise TypeError(f"split must be a str or dict, got {type(spec).__name__}")
    if any(not (0.0 <= f <= 1.0) for f in fractions.values()):
        raise ValueError(f"split fractions must be in [0, 1], got {fractions}")
    if abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got {fractions}")
    return fractions


def split_of(group: str, fractions: dict[str, float], seed: int) -> str:
    """Deterministic split of a group id (an image path: all its faces go to one split)."""
    digest = hashlib.sha1(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    acc = 0.0
    names = list(fractions)
    for name in names:
        acc += fractions[name]
        if u < acc:
            return name
    return names[-1]


def group_of(source_id: str) -> str:
    """The image part of a source id (``path#n`` -> ``path``)."""
    return source_id.split("#", 1)[0]


# --- writing ---------------------------------------------------------------------------------
@dataclasses.dataclass
class ConversionSummary:
    """What a conversion did: faces per split, skipped items by reason, written shard paths."""

    written: dict[str, int] = dataclasses.field(default_factory=dict)
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    paths: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def total_written(self) -> int:
        return sum(self.written.values())

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def log(self) -> None:
        per_split = ", ".join(f"{k}: {v}" for k, v in self.written.items()) or "none"
        logging.info("faces written: %d (%s)", self.total_written, per_split)
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items())) or "none"
        logging.info("skipped: %d (%s)", self.total_skipped, reasons)
        for name, paths in self.paths.items():
            logging.info("split %r -> %s ... (%d shards)", name, paths[0], len(paths))


def split_prefix(output_prefix: str, split_name: str | None) -> str:
    """``PREFIX`` without splits, ``PREFIX_<split>`` with them."""
    return output_prefix if split_name is None else f"{output_prefix}_{split_name}"


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
    summary.skipped[reason] += 1
    logging.warning("skipped %s", message)


def limited(items: Iterable[Any], limit: int | None) -> Iterator[Any]:
    """The first ``limit`` items (all when ``limit`` is None or <= 0)."""
    for i, item in enumerate(items):
        if limit and limit > 0 and i >= limit:
            return
        yield item


# --- flags -----------------------------------------------------------------------------------
def define_common_flags(default_scheme: str | None, input_help: str) -> None:
    """Defines the flags every converter shares. Call from ``__main__`` only (not on import)."""
    flags.DEFINE_string("input", None, input_help, required=True)
    flags.DEFINE_string(
        "output", None,
        "Output prefix; shards are PREFIX-00000-of-0000N.tfrecord (PREFIX_<split>-... with "
        "--split).", required=True)
    flags.DEFINE_integer("num_shards", 1, "Number of TFRecord shards per split.", lower_bound=1)
    flags.DEFINE_string(
        "split", None,
        "Optional split fractions, e.g. 'train=0.9,val=0.1' (must sum to 1); each split is "
        "written to PREFIX_<split>-.... All faces of one image go to the same split.")
    flags.DEFINE_integer("seed", 0, "Seed of the split assignment (deterministic).")
    flags.DEFINE_string(
        "scheme", default_scheme,
        "Landmark scheme name (300w68, wflw98, cofw29, lsp14, or a registered user scheme).")
    flags.DEFINE_integer("limit", 0, "Convert only the first N source items (0 = all).",
                         lower_bound=0)
    flags.DEFINE_bool(
        "one_based", False,
        "Subtract 1 from every source coordinate: for annotations in 1-based MATLAB pixel "
        "coordinates. The project convention is 0-based pixel centres at integer coordinates.")


def run_converter(main: Callable[[list[str]], None]) -> None:
    """``app.run(main)``, with a missing or unreadable input (``OSError``) or an invalid one
    (``ValueError``) reported as a one-line usage error that names it, not a traceback.

    Per-record problems never get here: they are skipped and counted by :func:`write_items`.
    """
    def checked_main(argv: list[str]) -> None:
        try:
            main(argv)
        except (OSError, ValueError) as err:
            raise app.UsageError(str(err)) from err

    app.run(checked_main)
