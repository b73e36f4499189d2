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


def check_box(box: np.ndarray, image_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``box`` as ``(4,)`` float32 x1, y1, x2, y2, or ValueError.

    The messages are the SavedModel's ``align_image`` checks word for word: "box must have
    x2 > x1 and y2 > y1" (also for a zero-area box) and, given ``image_shape (H, W, ...)``,
    "box lies outside the WxH image" when the box does not overlap ``0 .. W`` by
    ``0 .. H`` at all. A box partly outside is fine: the crop is black beyond the image.
    """
    b = np.asarray(box, np.float64).reshape(-1)
    if b.shape != (4,) or not np.all(np.isfinite(b)):
        raise ValueError(f"box must be 4 finite numbers x1, y1, x2, y2, got {box!r}")
    shown = [round(float(v), 2) for v in b]
    if b[2] <= b[0] or b[3] <= b[1]:
        raise ValueError(f"box must have x2 > x1 and y2 > y1, got {shown}")
    if image_shape is not None:
        h, w = int(image_shape[0]), int(image_shape[1])
        if b[2] <= 0 or b[3] <= 0 or b[0] >= w or b[1] >= h:
            raise ValueError(f"box lies outside the {w}x{h} image, got {shown}")
    return b.astype(np.float32)


def crop_image(image: np.ndarray, box: np.ndarray, input_size: int,
               margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(crop (S, S, 3) float32 in [0, 1], matrix (3, 3) image -> crop)`` of an RGB image.

    ``image``: ``(H, W, 3)`` uint8. Bilinear, constant 0 outside the image. Only the part
    of the image under the crop (plus a pixel) is converted to float, so a face in a
    12000 x 9000 photo costs memory in proportion to the face, not the photo.
    """
    import cv2

    matrix = crop_matrix(box, input_size, margin)
    h, w = image.shape[:2]
    # the crop frame's edges in image pixels, one pixel wider for the bilinear neighbours
    corners = map_points(np.linalg.inv(matrix), [[-0.5, -0.5], [input_size - 0.5] * 2])
    x0 = int(np.clip(np.floor(corners[0, 0]) - 1, 0, w))
    y0 = int(np.clip(np.floor(corners[0, 1]) - 1, 0, h))
    x1 = int(np.clip(np.ceil(corners[1, 0]) + 2, x0, w))
    y1 = int(np.clip(np.ceil(corners[1, 1]) + 2, y0, h))
    if x1 <= x0 or y1 <= y0:  # nothing of the image under the crop
        return np.zeros((input_size, input_size, 3), np.float32), matrix
    src = image[y0:y1, x0:x1].astype(np.float32)
    np.multiply(src, np.float32(1.0 / 255.0), out=src)
    shifted = matrix @ np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    crop = cv2.warpAffine(src, shifted[:2], (input_size, input_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0, 0.0, 0.0))
    return crop, matrix
