"""File lookup shared by the library, the converters and the apps (no TensorFlow import at
module load)."""

from __future__ import annotations

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv",
                    ".flv", ".3gp")


def find_files(file_pattern: str | list[str]) -> list[str]:
    """Sorted, de-duplicated files matching the glob(s) ``file_pattern`` (possibly empty).

    Uses ``tf.io.gfile.glob``, so patterns may name any file system TensorFlow reads
    (``gs://...`` included).
    """
    patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
    if not patterns or not all(isinstance(p, str) for p in patterns):
        raise TypeError(f"file_pattern must be a str or a list of str, got {file_pattern!r}")
    import tensorflow as tf

    return sorted({f for p in patterns for f in tf.io.gfile.glob(p)})


def is_image_file(name: str) -> bool:
    """Whether ``name`` ends in one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return name.lower().endswith(IMAGE_EXTENSIONS)


def is_video_file(name: str) -> bool:
    """Whether ``name`` ends in one of :data:`VIDEO_EXTENSIONS` (case-insensitive)."""
    return name.lower().endswith(VIDEO_EXTENSIONS)
