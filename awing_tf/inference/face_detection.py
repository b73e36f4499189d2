"""Face boxes in whole photos (OpenCV's bundled frontal Haar cascade)."""

from __future__ import annotations

import os

import numpy as np


def detect_faces(image_rgb: np.ndarray) -> np.ndarray:
    """Face boxes ``(N, 4)`` x1 y1 x2 y2, largest first, for ``image_rgb (H, W, 3)`` uint8."""
    import cv2

    cascade = cv2.CascadeClassifier(
        os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml"))
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    min_side = max(24, min(grey.shape) // 10)
    found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5,
                                     minSize=(min_side, min_side))
    if len(found) == 0:
        return np.zeros((0, 4), np.float32)
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in found], np.float32)
    return boxes[np.argsort(-(boxes[:, 2] - boxes[:, 0]))]
