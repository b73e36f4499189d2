r"""Checks every record of a set of TFRecord shards and summarises what they hold.

    python -m data_tools.inspect_records --records='/data/wflw_*.tfrecord' \
        [--scheme=wflw98] [--sheet=sheet.png] [--sheet_faces=16] [--out=summary.json]

Per shard: framing and CRC of every record (``awing_tf.data.record_check``). Per record: the
parse spec (missing features named), the image decode and its size against the stored
height and width, the point count against the record's scheme (and ``--scheme``), finite
landmarks, visible landmarks inside the image (hidden ones may lie outside), a finite,
non-degenerate box overlapping the image; over all shards: duplicate source ids.

Prints records per shard, schemes, image sizes, faces per split, WFLW attribute counts and
the anomalies by kind with the first few record ids (``shard:index`` and source id); exits
with status 1 when there is any anomaly, 0 otherwise. ``--sheet`` writes a contact sheet of
``--sheet_faces`` random faces (seeded by ``--seed``) with landmarks (green visible, red
hidden), the scheme's boundary curves and the box; ``--out`` writes the summary as JSON.
"""

from __future__ import annotations

import glob
import json
import math
import os
import random
import sys
from typing import TYPE_CHECKING, Any

from absl import app, flags

from awing_tf.schemes import SCHEMES

if TYPE_CHECKING:
    from data_tools.record_stats import Face, Inspection


def define_flags() -> None:
    """The command-line flags. Called when run as a program only (not on import)."""
    flags.DEFINE_string("records", None, "Glob of the TFRecord shards to check.",
                        required=True)
    flags.DEFINE_string("scheme", None, "Expected landmark scheme of every record "
                        "(default: each record's own).")
    flags.DEFINE_string("sheet", None, "Write a contact sheet PNG of random faces here.")
    flags.DEFINE_integer("sheet_faces", 16, "Faces on the contact sheet.", lower_bound=1)
    flags.DEFINE_integer("sheet_tile", 256, "Side of one contact-sheet tile in pixels.",
                         lower_bound=16)
    flags.DEFINE_integer("seed", 0, "Seed of the contact sheet's choice of faces.")
    flags.DEFINE_string("out", None, "Write the summary as JSON here.")


def _read_records(path: str, count: int):
    """The first ``count`` serialized records of the shard at ``path`` (already scanned)."""
    import tensorflow as tf

    for data in tf.data.TFRecordDataset(path).take(count):
        yield data.numpy()


def inspect(paths: list[str], scheme: str | None = None, sample: int = 0,
            seed: int = 0) -> tuple[Inspection, list[Face]]:
    """Checks every record of the shards ``paths``.

    Returns the :class:`~data_tools.record_stats.Inspection` and ``sample`` faces
    (:class:`~data_tools.record_stats.Face` with their images, in record order) chosen
    uniformly at random among the decodable ones by a generator seeded with ``seed``.
    """
    from tqdm import tqdm

    from awing_tf.data.record_check import scan_shard
    from data_tools.record_stats import Anomaly, Inspection, check_record, split_of_shard

    inspection = Inspection()
    rng = random.Random(seed)
    chosen: list[tuple[int, Face]] = []
    seen = 0
    for path in tqdm(paths, desc="shards", unit="shard", file=sys.stderr):
        name = os.path.basename(path)
        scan = scan_shard(path, verify_crc=True)
        inspection.add_shard(path, scan.records, scan.error)
        if scan.error:
            kind = "crc" if "data checksum" in scan.error else "framing"
            where = scan.error_record if scan.error_record is not None else scan.records
            at = f" (byte {scan.error_offset})" if scan.error_offset is not None else ""
            inspection.add_anomaly(Anomaly(kind, f"{name}:{where}", "", scan.error + at))
        split = split_of_shard(path)
        for i, data in enumerate(_read_records(path, scan.records)):
            face, anomalies = check_record(data, f"{name}:{i}", scheme)
            for anomaly in anomalies:
                inspection.add_anomaly(anomaly)
            if face is None:
                continue
            inspection.add_face(face, split)
            if sample and face.image_bgr is not None:
                seen += 1
                if len(chosen) < sample:
                    chosen.append((seen, face))
                else:
                    j = rng.randrange(seen)
                    if j < sample:
                        chosen[j] = (seen, face)
    return inspection, [f for _, f in sorted(chosen, key=lambda t: t[0])]


def write_sheet(faces: list[Face], path: str, tile: int = 256) -> dict[str, Any]:
    """Writes the contact sheet of ``faces`` (tiles ``tile`` pixels square, row-major) as a
    PNG at ``path`` (temporary name, then renamed); returns its layout: ``tile``, ``cols``
    and the record id of each tile."""
    import cv2

    from data_tools.contact_sheet import draw_face_tile, tile_grid

    if not faces:
        raise ValueError(f"--sheet {path}: no decodable face to draw")
    cols = math.ceil(math.sqrt(len(faces)))
    tiles = [draw_face_tile(f.image_bgr, f.landmarks, f.visible, f.box,
                            f.scheme if f.scheme in SCHEMES else None, size=tile) for f in faces]
    ok, png = cv2.imencode(".png", tile_grid(tiles, cols), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise ValueError(f"--sheet {path}: PNG encoding failed")
    _write_atomically(path, png.tobytes())
    return {"path": path, "tile": tile, "cols": cols, "records": [f.record for f in faces]}


def _write_atomically(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary name in the same folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    """Inspects ``--records``; returns the exit status (1 when anything is wrong)."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    f = flags.FLAGS
    if f.scheme is not None and f.scheme not in SCHEMES:
        raise app.UsageError(f"--scheme {f.scheme!r} is not one of {sorted(SCHEMES)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "://" in f.records:  # a file system only TensorFlow reads
        from awing_tf.files import find_files

        paths = find_files(f.records)
    else:
        paths = sorted(p for p in glob.glob(f.records) if os.path.isfile(p))
    if not paths:
        raise app.UsageError(f"--records={f.records!r} matches no files")
    try:
        inspection, faces = inspect(paths, f.scheme, f.sheet_faces if f.sheet else 0, f.seed)
    except OSError as err:
        raise app.UsageError(f"--records={f.records!r}: {err}") from None
    summary = inspection.to_dict()
    print(inspection.format_text())
    if f.sheet:
        try:
            summary["sheet"] = write_sheet(faces, f.sheet, f.sheet_tile)
        except (OSError, ValueError) as err:
            raise app.UsageError(str(err)) from None
        print(f"contact sheet: {f.sheet} ({len(faces)} faces)")
    if f.out:
        try:
            _write_atomically(f.out, (json.dumps(summary, indent=2) + "\n").encode())
        except OSError as err:
            raise app.UsageError(f"--out {f.out!r}: {err}") from None
        print(f"summary: {f.out}")
    return 1 if inspection.total_anomalies else 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
