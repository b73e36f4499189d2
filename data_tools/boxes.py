"""Face and body boxes ``x1 y1 x2 y2`` derived from points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
