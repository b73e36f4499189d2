"""Contact sheets of faces: one tile per face with its landmarks, boundary curves and box.

One drawing routine for every sheet the data tools write (the synthetic generator's
``--sheet`` and ``inspect_records --sheet``): :func:`draw_face_tile` draws one face,
:func:`tile_grid` lays the tiles out in rows. Colours are BGR (OpenCV):
:data:`VISIBLE_COLOR` for visible points, :data:`HIDDEN_COLOR` for occluded or absent ones,
:data:`CURVE_COLOR` for the scheme's boundary curves and :data:`BOX_COLOR` for the face box.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from awing_tf.schemes import LandmarkScheme, get_scheme

VISIBLE_COLOR = (0, 255, 0)
HIDDEN_COLOR = (0, 0, 255)
CURVE_COLOR = (255, 0, 255)
BOX_COLOR = (255, 200, 0)


def fit_to_tile(image_bgr: np.ndarray, size: int | None) -> tuple[np.ndarray, float]:
    """``image_bgr (H, W, 3)`` scaled so its longer side is ``size`` and padded with black
    at the right and bottom to ``(size, size, 3)``; returns it and the scale factor.

    ``size=None`` returns the image unchanged with scale 1.
    """
    if size is None:
        return np.ascontiguousarray(image_bgr.copy()), 1.0
    if size < 8:
        raise ValueError(f"tile size must be >= 8 pixels, got {size}")
    h, w = image_bgr.shape[:2]
    scale = size / max(h, w)
    new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=interp)
    tile = np.zeros((size, size, 3), np.uint8)
    tile[:new_h, :new_w] = resized
    return tile, scale


def _to_pixel(scale: float, x: float, y: float) -> tuple[int, int]:
    """Tile pixel of source point ``(x, y)`` (pixel centres at integers, see ARCHITECTURE)."""
    return int(round((x + 0.5) * scale - 0.5)), int(round((y + 0.5) * scale - 0.5))


def draw_face_tile(image_bgr: np.ndarray, landmarks: np.ndarray,
                   visible: np.ndarray | None, box: Sequence[float] | None,
                   scheme: str | LandmarkScheme | None, size: int | None = None) -> np.ndarray:
    """One face drawn on a copy of its image: a ``(size, size, 3)`` uint8 BGR tile.

    ``image_bgr (H, W, 3)`` uint8; ``landmarks (K, 2)`` in its pixels; ``visible (K,)``
    flags (None: all visible); ``box`` ``x1 y1 x2 y2`` or None; ``scheme``'s boundary curves
    are drawn as polylines through their landmark indices when it has K points. ``size``
    scales the image's longer side to that many pixels (None keeps the image's size).
    Non-finite points are skipped; visible points are drawn last, so a visible point's
    centre pixel is :data:`VISIBLE_COLOR`.
    """
    if image_bgr.ndim == 2:
        image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    tile, scale = fit_to_tile(image_bgr, size)
    points = np.asarray(landmarks, np.float64).reshape(-1, 2)
    flags = (np.ones(len(points), bool) if visible is None or len(visible) != len(points)
             else np.asarray(visible).reshape(-1) > 0)
    finite = np.all(np.isfinite(points), axis=1)
    scheme_obj = get_scheme(scheme) if scheme is not None else None
    if scheme_obj is not None and scheme_obj.num_points == len(points):
        for curve in scheme_obj.boundary_curves:
            idx = [i for i in curve if finite[i]]
            if len(idx) >= 2:
                line = np.array([_to_pixel(scale, *points[i]) for i in idx], np.int32)
                cv2.polylines(tile, [line], False, CURVE_COLOR, 1, cv2.LINE_AA)
    if box is not None:
        b = np.asarray(box, np.float64).reshape(-1)
        if b.shape == (4,) and np.all(np.isfinite(b)):
            cv2.rectangle(tile, _to_pixel(scale, b[0], b[1]), _to_pixel(scale, b[2], b[3]),
                          BOX_COLOR, 1)
    for want_visible, color in ((False, HIDDEN_COLOR), (True, VISIBLE_COLOR)):
        for (x, y), ok, vis in zip(points, finite, flags, strict=True):
            if ok and vis == want_visible:
                cv2.circle(tile, _to_pixel(scale, x, y), 1, color, -1)
    return tile


def tile_grid(tiles: Sequence[np.ndarray], cols: int) -> np.ndarray:
    """Tiles ``(h, w, 3)`` of one size in rows of ``cols`` (the last row padded with
    black): ``(rows * h, cols * w, 3)`` uint8."""
    if not tiles:
        raise ValueError("a contact sheet needs at least one face")
    if cols < 1:
        raise ValueError(f"cols must be >= 1, got {cols}")
    shapes = {t.shape for t in tiles}
    if len(shapes) != 1:
        raise ValueError(f"tiles must share one size, got {sorted(shapes)}")
    padded = list(tiles) + [np.zeros_like(tiles[0])] * (-len(tiles) % cols)
    rows = [np.concatenate(padded[i : i + cols], axis=1) for i in range(0, len(padded), cols)]
    return np.concatenate(rows, axis=0)
