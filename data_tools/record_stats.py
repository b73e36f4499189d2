"""The checks of one face record and the summary of a set of shards.

:func:`check_record` parses one serialized record with the project's parse spec
(:mod:`awing_tf.data.features`), decodes its image and checks its landmarks and box;
:class:`Inspection` collects what the records hold (records per shard, schemes, image sizes,
faces per split, WFLW attribute counts) and the anomalies by kind, and renders them as text
or JSON. Anomaly kinds: ``framing``, ``crc`` (from the shard scan), ``unparsable_record``,
``missing_feature``, ``bad_feature``, ``undecodable_image``, ``image_size_mismatch``,
``unknown_scheme``, ``scheme_mismatch``, ``wrong_point_count``, ``wrong_visible_count``,
``non_finite_landmarks``, ``visible_outside_image``, ``bad_box``, ``box_outside_image`` and
``duplicate_source_id``.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError

from awing_tf.data import features as F
from awing_tf.schemes import SCHEMES
from data_tools.images import decode_image
from data_tools.items import SkipRecord

EXAMPLES_PER_KIND = 5
_SPLIT_RE = re.compile(r"_([A-Za-z0-9]+)-\d{5}-of-\d{5}\.tfrecord$")


@dataclasses.dataclass(frozen=True)
class Anomaly:
    """One problem: its ``kind``, the record (``shard:index``), its source id and details."""

    kind: str
    record: str
    source_id: str
    detail: str


@dataclasses.dataclass
class Face:
    """A record that parsed. ``landmarks (K, 2)``, ``visible (K,)`` bool, ``box (4,)``,
    ``attributes (A,)``; ``image_bgr (H, W, 3)`` uint8 or None when it did not decode."""

    record: str
    source_id: str
    scheme: str
    height: int
    width: int
    landmarks: np.ndarray
    visible: np.ndarray
    box: np.ndarray
    attributes: np.ndarray
    image_bgr: np.ndarray | None


def split_of_shard(path: str) -> str:
    """The split in a shard's name (``NAME_train-00000-of-00004.tfrecord`` -> ``train``),
    ``all`` for a name without one."""
    match = _SPLIT_RE.search(path)
    return match.group(1) if match else "all"


def _parse(data: bytes, record: str) -> tuple[dict[str, Any] | None, Anomaly | None]:
    """The parsed features of one record, or the anomaly that stopped the parse."""
    spec = F.parse_spec()
    try:
        parsed = tf.io.parse_single_example(data, spec)
    except (tf.errors.InvalidArgumentError, ValueError) as err:
        try:
            present = tf.train.Example.FromString(data).features.feature
        except DecodeError:
            return None, Anomaly("unparsable_record", record, "", "not a tf.train.Example")
        source = (present[F.IMAGE_SOURCE_ID].bytes_list.value[0].decode("utf-8", "replace")
                  if F.IMAGE_SOURCE_ID in present and present[F.IMAGE_SOURCE_ID].bytes_list.value
                  else "")
        missing = [k for k, s in spec.items() if isinstance(s, tf.io.FixedLenFeature)
                   and s.default_value is None and k not in present]
        if missing:
            return None, Anomaly("missing_feature", record, source, "missing " + ", ".join(missing))
        message = str(getattr(err, "message", err)).splitlines()[0][:200]
        return None, Anomaly("bad_feature", record, source, message)
    out = {}
    for key, value in parsed.items():
        out[key] = (tf.sparse.to_dense(value) if isinstance(value, tf.SparseTensor)
                    else value).numpy()
    return out, None


def check_record(data: bytes, record: str,
                 scheme: str | None = None) -> tuple[Face | None, list[Anomaly]]:
    """Checks one serialized record; ``record`` names it (``shard:index``) in the anomalies.

    ``scheme``: the expected scheme name (None: the record's own). Returns the parsed
    :class:`Face` (None when it does not parse) and the anomalies found. Landmarks outside
    the image are an anomaly only when visible; the image is ``[-0.5, W - 0.5] x
    [-0.5, H - 0.5]`` (pixel centres at integer coordinates).
    """
    parsed, anomaly = _parse(data, record)
    if parsed is None:
        return None, [anomaly]
    source = parsed[F.IMAGE_SOURCE_ID].decode("utf-8", "replace")
    found: list[Anomaly] = []

    def add(kind: str, detail: str) -> None:
        found.append(Anomaly(kind, record, source, detail))

    height, width = int(parsed[F.IMAGE_HEIGHT]), int(parsed[F.IMAGE_WIDTH])
    image = None
    try:
        image = decode_image(bytes(parsed[F.IMAGE_ENCODED]), source or record)
    except SkipRecord as err:
        add("undecodable_image", f"the image bytes do not decode ({err.value})")
    if image is not None and image.shape[:2] != (height, width):
        add("image_size_mismatch", f"decoded image {image.shape[1]}x{image.shape[0]}, "
                                   f"stored width x height {width}x{height}")
    if image is not None:
        height, width = image.shape[:2]
    name = parsed[F.LANDMARKS_SCHEME].decode("utf-8", "replace") or (scheme or "")
    if scheme is not None and name != scheme:
        add("scheme_mismatch", f"record scheme {name!r}, expected {scheme!r}")
    xy = np.asarray(parsed[F.LANDMARKS_XY], np.float64)
    k = SCHEMES[name].num_points if name in SCHEMES else None
    if k is None:
        add("unknown_scheme", f"scheme {name!r}; known: {sorted(SCHEMES)}")
    elif xy.size != 2 * k:
        add("wrong_point_count", f"{xy.size} values = {xy.size / 2:g} points, "
                                 f"scheme {name} has {k}")
    if xy.size % 2:
        xy = xy[:-1]
    points = xy.reshape(-1, 2)
    flags = np.asarray(parsed[F.LANDMARKS_VISIBLE])
    if flags.size and flags.size != len(points):
        add("wrong_visible_count", f"{flags.size} visible flags for {len(points)} points")
    visible = flags > 0 if flags.size == len(points) else np.ones(len(points), bool)
    finite = np.all(np.isfinite(points), axis=1)
    if not np.all(finite):
        bad = np.flatnonzero(~finite)
        add("non_finite_landmarks", f"points {bad[:5].tolist()}: {points[bad[0]].tolist()}")
    outside = finite & visible & ((points[:, 0] < -0.5) | (points[:, 0] > width - 0.5)
                                  | (points[:, 1] < -0.5) | (points[:, 1] > height - 0.5))
    if np.any(outside):
        i = int(np.flatnonzero(outside)[0])
        add("visible_outside_image", f"{int(outside.sum())} visible points outside the "
                                     f"{width}x{height} image, e.g. point {i} at "
                                     f"{points[i].round(2).tolist()}")
    box = np.asarray(parsed[F.BBOX_XYXY], np.float64)
    if not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        add("bad_box", f"x1 y1 x2 y2 = {box.tolist()}")
    elif box[2] <= 0 or box[3] <= 0 or box[0] >= width or box[1] >= height:
        add("box_outside_image", f"{box.tolist()} in a {width}x{height} image")
    face = Face(record, source, name, height, width, points.astype(np.float32), visible,
                box, np.asarray(parsed[F.ATTRIBUTES], np.int64), image)
    return face, found


class Inspection:
    """What a set of shards holds and what is wrong with it, filled shard by shard."""

    def __init__(self, examples_per_kind: int = EXAMPLES_PER_KIND):
        self.examples_per_kind = examples_per_kind
        self.shards: dict[str, dict[str, Any]] = {}
        self.schemes: collections.Counter = collections.Counter()
        self.splits: collections.Counter = collections.Counter()
        self.attributes: dict[str, collections.Counter] = {}
        self.anomaly_counts: collections.Counter = collections.Counter()
        self.anomaly_examples: dict[str, list[Anomaly]] = collections.defaultdict(list)
        self._heights: list[int] = []
        self._widths: list[int] = []
        self._source_ids: dict[str, str] = {}

    def add_anomaly(self, anomaly: Anomaly) -> None:
        """Counts ``anomaly`` under its kind (the first few are kept as examples)."""
        self.anomaly_counts[anomaly.kind] += 1
        if len(self.anomaly_examples[anomaly.kind]) < self.examples_per_kind:
            self.anomaly_examples[anomaly.kind].append(anomaly)

    def add_shard(self, path: str, records: int, error: str | None) -> None:
        """One shard's record count and its scan error (None when it read cleanly)."""
        self.shards[path] = {"records": records, "split": split_of_shard(path), "error": error}

    def add_face(self, face: Face, split: str) -> None:
        """Counts one parsed face of ``split`` and flags a source id seen before."""
        self.schemes[face.scheme] += 1
        self.splits[split] += 1
        if face.image_bgr is not None:
            self._heights.append(face.height)
            self._widths.append(face.width)
        names = SCHEMES[face.scheme].attribute_names if face.scheme in SCHEMES else ()
        if names and face.attributes.size:
            counts = self.attributes.setdefault(face.scheme, collections.Counter())
            for name, flag in zip(names, face.attributes, strict=False):
                counts[name] += int(flag > 0)
        if face.source_id:
            first = self._source_ids.setdefault(face.source_id, face.record)
            if first != face.record:
                self.add_anomaly(Anomaly("duplicate_source_id", face.record, face.source_id,
                                         f"also at {first}"))

    @property
    def total_anomalies(self) -> int:
        """Anomalies over all kinds."""
        return sum(self.anomaly_counts.values())

    def _sizes(self) -> dict[str, list[int]]:
        return {name: [int(np.min(v)), int(np.median(v)), int(np.max(v))]
                for name, v in (("height", self._heights), ("width", self._widths)) if v}

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        return {
            "shards": self.shards,
            "records": sum(s["records"] for s in self.shards.values()),
            "schemes": dict(self.schemes),
            "image_size_min_median_max": self._sizes(),
            "faces_per_split": dict(self.splits),
            "attributes": {k: dict(v) for k, v in self.attributes.items()},
            "anomalies": {kind: {"count": n, "examples": [
                dataclasses.asdict(a) for a in self.anomaly_examples[kind]]}
                for kind, n in sorted(self.anomaly_counts.items())},
            "total_anomalies": self.total_anomalies,
        }

    def format_text(self) -> str:
        """The summary as lines of text."""
        d = self.to_dict()
        lines = [f"{d['records']} records in {len(self.shards)} shards"]
        for path, s in self.shards.items():
            error = f"  [{s['error']}]" if s["error"] else ""
            lines.append(f"  {path}: {s['records']} records{error}")
        lines.append("schemes: " + (", ".join(f"{k} {v}" for k, v in d["schemes"].items())
                                    or "none"))
        for name, (lo, mid, hi) in d["image_size_min_median_max"].items():
            lines.append(f"image {name}: min {lo}, median {mid}, max {hi}")
        lines.append("faces per split: " + (", ".join(
            f"{k} {v}" for k, v in sorted(d["faces_per_split"].items())) or "none"))
        for scheme, counts in d["attributes"].items():
            lines.append(f"attributes ({scheme}): "
                         + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if not self.total_anomalies:
            lines.append("anomalies: none")
        else:
            lines.append(f"anomalies: {self.total_anomalies}")
            for kind, entry in d["anomalies"].items():
                lines.append(f"  {kind}: {entry['count']}")
                for a in entry["examples"]:
                    sid = f" ({a['source_id']})" if a["source_id"] else ""
                    lines.append(f"    {a['record']}{sid}: {a['detail']}")
        return "\n".join(lines)
