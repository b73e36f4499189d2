"""Face-box files: ``NAME x1 y1 x2 y2`` per line, one line per face (300W's ``bbox.txt``
format; a name may repeat for a photo with several faces). No TensorFlow import."""

from __future__ import annotations

import os
import pathlib

import numpy as np


def read_box_file(path: str | os.PathLike, check_extent: bool = True
                  ) -> dict[str, np.ndarray]:
    """``{NAME: (N, 4) float32}`` in file order; blank lines are skipped.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file, the
    line and the text for a malformed line: not 5 fields, a value that is not a number, or
    (``check_extent``) a box that is not finite with x2 > x1 and y2 > y1 — converters leave
    that check to their per-face validation, which skips such a face with its reason.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"box file not found: {path}")
    boxes: dict[str, list[list[float]]] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise ValueError(f"{path}:{n}: expected 'NAME x1 y1 x2 y2', got {line!r}")
        try:
            box = [float(v) for v in parts[1:]]
        except ValueError:
            raise ValueError(f"{path}:{n}: box values must be numbers, got {line!r}") from None
        if check_extent and (not all(np.isfinite(box)) or box[2] <= box[0]
                             or box[3] <= box[1]):
            raise ValueError(f"{path}:{n}: need finite x1 y1 x2 y2 with x2 > x1 and y2 > y1, "
                             f"got {line!r}")
        boxes.setdefault(parts[0], []).append(box)
    return {name: np.asarray(b, np.float32) for name, b in boxes.items()}
