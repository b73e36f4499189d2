"""Reading photos from disk as RGB arrays (OpenCV; no TensorFlow import).

One rule for EXIF orientation everywhere: landmarks and boxes refer to the image *as
displayed*, i.e. with a JPEG's EXIF orientation applied. OpenCV's ``IMREAD_COLOR`` applies
it, so :func:`read_image` returns the upright picture; the converters store upright pixels
(``data_tools.images``) because TensorFlow's decoders ignore the tag.
"""

from __future__ import annotations

import os

import numpy as np


def read_image(path: str) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB, as the photo is displayed.

    Grey images are repeated to three channels, an alpha channel is dropped, 16-bit images
    are mapped to 8 bits (``v // 256``), CMYK JPEGs are converted to RGB and a JPEG's EXIF
    orientation is applied (all by OpenCV's ``IMREAD_COLOR``). Raises
    ``FileNotFoundError`` ("image not found: PATH") for a missing file and ``ValueError``
    naming the file for an empty file or one OpenCV cannot decode.
    """
    import cv2

    if not os.path.isfile(path):
        raise FileNotFoundError(f"image not found: {path}")
    data = np.fromfile(path, np.uint8)
    if not data.size:
        raise ValueError(f"{path}: not a readable image (empty file)")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ValueError(f"{path}: not a readable image (not an image format OpenCV can "
                         "decode)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr)
