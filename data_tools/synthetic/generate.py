"""Synthetic face records: generation (deterministic per seed), TFRecord writing, a preview."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from data_tools.contact_sheet import draw_face_tile, tile_grid
from data_tools.records import FaceRecord
from data_tools.synthetic.render import render_face
from data_tools.synthetic.templates import canonical_landmarks
from data_tools.writing import ConversionSummary, write_items


def generate_records(
    num: int, scheme: str = "300w68", image_size: int = 256, seed: int = 0,
    max_pitch_degrees: float = 0.0,
) -> Iterator[FaceRecord]:
    """``num`` synthetic FaceRecords (JPEG, landmarks in pixels). Deterministic per seed.

    Face ``i`` uses its own generator seeded by ``(seed, i)``: the same face comes out whatever
    ``num`` is. ``max_pitch_degrees`` > 0 adds a random pitch (uniform within it); the default
    0 draws none and leaves the random stream, hence every face of a seed, unchanged.
    """
    if not isinstance(num, int) or num < 0:
        raise ValueError(f"num must be a non-negative int, got {num!r}")
    if not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"image_size must be an int >= 32, got {image_size!r}")
    canonical_landmarks(scheme)
    for i in range(num):
        rng = np.random.default_rng([seed, i])
        img, pts, vis, box = render_face(rng, scheme, image_size, max_pitch_degrees)
        quality = int(rng.integers(75, 96))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        yield FaceRecord(image_bytes=buf.tobytes(), source_id=f"synthetic/{seed}/{i:07d}",
                         height=image_size, width=image_size, landmarks=pts, scheme=scheme,
                         bbox=box, visible=vis)


def write_synthetic(
    output_prefix: str,
    num: int,
    scheme: str = "300w68",
    image_size: int = 256,
    num_shards: int = 1,
    seed: int = 0,
    split: str | dict[str, float] | None = None,
    max_pitch_degrees: float = 0.0,
) -> ConversionSummary:
    """Writes ``num`` synthetic faces to TFRecord shards (split as in the converters)."""
    records = generate_records(num, scheme, image_size, seed, max_pitch_degrees)
    return write_items(records, output_prefix, scheme, num_shards, split, seed, total=num,
                       desc="synthetic")


def contact_sheet(num: int = 16, scheme: str = "300w68", image_size: int = 256,
                  seed: int = 0, cols: int = 4, max_pitch_degrees: float = 0.0) -> np.ndarray:
    """A grid image ``(rows * S, cols * S, 3)`` uint8 BGR of ``num`` faces with their
    landmarks (green visible, red not), boundary curves and box
    (:func:`data_tools.contact_sheet.draw_face_tile`)."""
    tiles = []
    for rec in generate_records(num, scheme, image_size, seed, max_pitch_degrees):
        img = cv2.imdecode(np.frombuffer(rec.image_bytes, np.uint8), cv2.IMREAD_COLOR)
        tiles.append(draw_face_tile(img, rec.landmarks, rec.visible, rec.bbox, scheme))
    return tile_grid(tiles, cols)
