"""Image bytes for the records: reading, checking that they decode, re-encoding as PNG.

JPEG and PNG files are stored as they are (after a full decode that proves them readable);
other formats and decoded arrays (e.g. the images inside MATLAB files) are stored as PNG.
Every problem raises :class:`~data_tools.items.SkipRecord` naming the source.

EXIF orientation: annotations refer to the image as displayed. OpenCV applies a JPEG's
EXIF orientation when decoding, TensorFlow's ``decode_image`` (the input pipeline) does
not, so a JPEG whose orientation tag is not 1 is stored as the decoded, upright pixels in
PNG (lossless) rather than as its original bytes.
"""

from __future__ import annotations

import os
import struct

import cv2
import numpy as np

from data_tools.items import SkipRecord

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _jpeg_complete(data: bytes) -> bool:
    """A JPEG is complete when its end-of-image marker FFD9 is near the end of the bytes."""
    return data.rfind(b"\xff\xd9") >= max(0, len(data) - 4096)


def jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) of JPEG bytes; 1 (upright) when there is no tag or no
    readable EXIF segment."""
    if not data.startswith(_JPEG_MAGIC):
        return 1
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no EXIF before the data
            return 1
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segment = data[pos + 4:pos + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            return _tiff_orientation(segment[6:])
        pos += 2 + length
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    """Tag 0x0112 of the first IFD of an EXIF TIFF block, or 1."""
    try:
        order = {b"II": "<", b"MM": ">"}[tiff[:2]]
        ifd = struct.unpack(order + "I", tiff[4:8])[0]
        count = struct.unpack(order + "H", tiff[ifd:ifd + 2])[0]
        for i in range(count):
            entry = tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            if tag == 0x0112 and kind == 3:
                value = struct.unpack(order + "H", entry[8:10])[0]
                return value if 1 <= value <= 8 else 1
    except (KeyError, struct.error):
        pass
    return 1


def decode_image(data: bytes, source: str) -> np.ndarray:
    """Decodes encoded image bytes to a (H, W, 3) uint8 BGR array or raises ``SkipRecord``.

    A truncated JPEG (OpenCV decodes those partially, grey at the bottom) is rejected by
    checking its end-of-image marker; a truncated PNG fails to decode.
    """
    if len(data) == 0:
        raise SkipRecord("unreadable_image", source, "image bytes", "empty file")
    if data.startswith(_JPEG_MAGIC) and not _jpeg_complete(data):
        raise SkipRecord("unreadable_image", source, "image bytes", "truncated JPEG (no EOI)")
    if data.startswith(_PNG_MAGIC) and b"IEND" not in data[-64:]:
        raise SkipRecord("unreadable_image", source, "image bytes", "truncated PNG (no IEND)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise SkipRecord("unreadable_image", source, "image bytes", f"{data[:8]!r}...")
    return image


def encode_png(image: np.ndarray, source: str) -> bytes:
    """PNG bytes of a (H, W, 3) BGR or (H, W) grey uint8 array."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise SkipRecord("unreadable_image", source, "image", "PNG encoding failed")
    return buf.tobytes()


def load_image_bytes(data: bytes, source: str) -> tuple[bytes, int, int]:
    """Validates encoded bytes by decoding them; returns ``(encoded, height, width)``.

    JPEG and PNG bytes are kept as they are, except a JPEG with an EXIF orientation other
    than 1, stored as its upright pixels in PNG; any other format (BMP, PPM, TIFF, ...) is
    re-encoded as PNG. Height and width come from the decoded (upright) image.
    """
    image = decode_image(data, source)
    h, w = image.shape[:2]
    if not (data.startswith(_JPEG_MAGIC) or data.startswith(_PNG_MAGIC)) \
            or jpeg_orientation(data) != 1:
        data = encode_png(image, source)
    return data, int(h), int(w)


def load_image(path: str | os.PathLike, source: str | None = None) -> tuple[bytes, int, int]:
    """Reads and validates one image file; returns ``(encoded bytes, height, width)``."""
    source = source or str(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise SkipRecord("missing_image", source, "path", str(path)) from None
    except OSError as e:
        raise SkipRecord("unreadable_image", source, "path", f"{path}: {e}") from None
    return load_image_bytes(data, source)


def array_to_png(image: np.ndarray, source: str, rgb: bool = True) -> tuple[bytes, int, int]:
    """PNG bytes of a decoded (H, W), (H, W, 1) or (H, W, 3) array (RGB order by default)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        if not np.issubdtype(img.dtype, np.number):
            raise SkipRecord("unreadable_image", source, "image dtype", str(img.dtype))
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 3 and rgb:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if img.ndim not in (2, 3) or min(img.shape[:2]) < 1:
        raise SkipRecord("unreadable_image", source, "image shape", img.shape)
    return encode_png(np.ascontiguousarray(img), source), int(img.shape[0]), int(img.shape[1])
