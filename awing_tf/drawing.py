"""Landmark overlays on images (OpenCV; no TensorFlow import)."""

from __future__ import annotations

import numpy as np

_SHIFT = 4  # OpenCV sub-pixel bits: points are drawn at 1/16 pixel precision


def draw_landmarks(image_rgb: np.ndarray, landmarks: np.ndarray,
                   box: np.ndarray | None = None, color=(0, 255, 0)) -> np.ndarray:
    """A copy of ``image_rgb (H, W, 3) uint8`` with ``landmarks (K, 2)`` drawn as dots at
    their sub-pixel positions (non-finite points skipped) and the face ``box``
    ``[x1, y1, x2, y2]`` if given."""
    import cv2

    out = np.ascontiguousarray(image_rgb.copy())
    radius = max(1, int(round(max(out.shape[:2]) / 250)))
    scale = 1 << _SHIFT
    for x, y in np.asarray(landmarks, np.float64):
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(out, (int(round(x * scale)), int(round(y * scale))), radius * scale,
                       color, -1, cv2.LINE_AA, shift=_SHIFT)
    if box is not None:
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), (255, 128, 0), max(1, radius // 2))
    return out
