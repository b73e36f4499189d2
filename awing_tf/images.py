"""Reading photos from disk as RGB arrays (OpenCV; no TensorFlow import)."""

from __future__ import annotations

import os

import numpy as np


def read_image(path: str) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB.

    Raises ``FileNotFoundError`` ("image not found: PATH") for a missing file and
    ``ValueError`` naming the file for one OpenCV cannot decode.
    """
    import cv2

    if not os.path.isfile(path):
        raise FileNotFoundError(f"image not found: {path}")
    data = np.fromfile(path, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise ValueError(f"{path}: not a readable image (not an image format OpenCV can "
                         "decode)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
