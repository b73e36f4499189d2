"""The face crop and point maps in NumPy and OpenCV (no TensorFlow import), for prediction
on whole images and for the TFLite runner.

Matrices are 3x3 in homogeneous pixel coordinates with pixel centres at integer coordinates.
``awing_tf.data.geometry.crop_matrix`` is the same crop as a TensorFlow function for the
input pipeline; a test keeps the two equal.
"""

from __future__ import annotations

import numpy as np


def crop_matrix(box: np.ndarray, input_size: int, margin: float = 0.0) -> np.ndarray:
    """Image pixels -> crop pixels for the square crop of ``box`` ``(4,)`` x1, y1, x2, y2.

    The crop is the square of the box's longer side, centred on the box centre and enlarged
    by ``margin`` (0.1 = 10 % larger side); the square's edges map onto the crop frame's
    edges ``-0.5`` and ``input_size - 0.5``. Returns ``(3, 3)`` float64.
    """
    box = np.asarray(box, np.float64).reshape(-1)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise ValueError(f"box must be 4 finite numbers x1, y1, x2, y2, got {box!r}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1, 1e-3) * (1.0 + margin)
    k = float(input_size) / side
    cx, cy = 0.5 * (x1 + x2), 0.5 * (y1 + y2)
    return np.array([[k, 0.0, (0.5 * side - cx) * k - 0.5],
                     [0.0, k, (0.5 * side - cy) * k - 0.5],
                     [0.0, 0.0, 1.0]])


def map_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points (..., K, 2)`` through ``matrix`` ``(3, 3)`` or ``(..., 3, 3)`` ->
    ``(..., K, 2)`` float64."""
    m = np.asarray(matrix, np.float64)
    p = np.asarray(points, np.float64)
    return np.einsum("...ij,...kj->...ki", m[..., :2, :2], p) + m[..., None, :2, 2]


def crop_image(image: np.ndarray, box: np.ndarray, input_size: int,
               margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(crop (S, S, 3) float32 in [0, 1], matrix (3, 3) image -> crop)`` of an RGB image.

    ``image``: ``(H, W, 3)`` uint8. Bilinear, constant 0 outside the image.
    """
    import cv2

    matrix = crop_matrix(box, input_size, margin)
    src = image.astype(np.float32) * (1.0 / 255.0)
    crop = cv2.warpAffine(src, matrix[:2], (input_size, input_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0, 0.0, 0.0))
    return crop, matrix
