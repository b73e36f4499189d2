"""Frames in and annotated video out (OpenCV; no TensorFlow import).

:func:`read_frames` yields the frames of a video file (anything ``cv2.VideoCapture`` reads),
of a camera (``"0"``) or of a folder of images in name order, with their index and time.
Frames that fail to decode are skipped, counted and named; a video that cannot be opened or
has no frame raises :class:`VideoError` naming the file. :class:`VideoWriter` writes an
annotated video under a temporary name and renames it when complete.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import numpy as np
from absl import logging

from awing_tf.files import is_image_file

DEFAULT_FOLDER_FPS = 30.0


class VideoError(ValueError):
    """A video input that cannot be read at all."""


@dataclasses.dataclass
class FrameSource:
    """What is known of an input before reading it: ``fps``, ``frame_count`` (None when
    unknown, e.g. a camera), and the frames skipped so far (``skipped``: ``[(frame index,
    reason)]``)."""

    name: str
    fps: float
    frame_count: int | None
    skipped: list[tuple[int, str]] = dataclasses.field(default_factory=list)


def is_camera(spec: str) -> bool:
    """``"0"``, ``"1"``, ...: a camera index."""
    return spec.isdigit()


def open_source(spec: str, frames_folder: bool = False) -> tuple[FrameSource, Iterator]:
    """``(FrameSource, iterator of (index, time s, frame (H, W, 3) uint8 RGB))`` of a video
    file, a camera index or (``frames_folder``) a folder of frame images."""
    if frames_folder:
        return _folder(spec)
    import cv2

    if not is_camera(spec) and not os.path.isfile(spec):
        raise VideoError(f"{spec}: no such video file")
    cap = cv2.VideoCapture(int(spec) if is_camera(spec) else spec)
    if not cap.isOpened():
        cap.release()
        raise VideoError(f"{spec}: cannot open as a video (not a format OpenCV's VideoCapture "
                         "reads, or the file is damaged)")
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else DEFAULT_FOLDER_FPS
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    source = FrameSource(spec, fps, count if count > 0 and not is_camera(spec) else None)
    return source, _capture_frames(cap, source)


def _capture_frames(cap, source: FrameSource) -> Iterator[tuple[int, float, np.ndarray]]:
    import cv2

    index = 0
    failures = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                # a frame that fails mid-stream: skip it while frames remain
                if source.frame_count is not None and index < source.frame_count - 1 \
                        and failures < 8:
                    source.skipped.append((index, "frame failed to decode"))
                    logging.warning("%s: frame %d failed to decode, skipped", source.name, index)
                    failures += 1
                    index += 1
                    continue
                break
            failures = 0
            yield index, index / source.fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        cap.release()
    if source.frame_count is not None and index < source.frame_count:
        logging.warning("%s: the stream ended at frame %d of %d announced (truncated?)",
                        source.name, index, source.frame_count)


def _folder(folder: str) -> tuple[FrameSource, Iterator]:
    if not os.path.isdir(folder):
        raise VideoError(f"{folder}: --frames needs a folder of frame images")
    files = sorted(f for f in os.listdir(folder) if is_image_file(f))
    if not files:
        raise VideoError(f"{folder}: folder has no frame images")
    source = FrameSource(folder, DEFAULT_FOLDER_FPS, len(files))

    def frames() -> Iterator[tuple[int, float, np.ndarray]]:
        from awing_tf.images import read_image

        for index, name in enumerate(files):
            path = os.path.join(folder, name)
            try:
                frame = read_image(path)
            except (OSError, ValueError) as err:
                source.skipped.append((index, str(err)))
                logging.warning("frame %d skipped: %s", index, err)
                continue
            yield index, index / source.fps, frame

    return source, frames()


class VideoWriter:
    """An annotated video of frames ``(H, W, 3)`` uint8 RGB at ``fps``, written to
    ``path + '.tmp.mp4'`` (MPEG-4 Part 2, ``mp4v``) and renamed to ``path`` by
    :meth:`close`; the size is the first frame's."""

    def __init__(self, path: str, fps: float):
        self.path, self.fps = path, fps
        self.tmp = path + ".tmp" + os.path.splitext(path)[1]
        self._writer = None
        self.frames = 0

    def write(self, frame_rgb: np.ndarray) -> None:
        import cv2

        if self._writer is None:
            h, w = frame_rgb.shape[:2]
            self._writer = cv2.VideoWriter(self.tmp, cv2.VideoWriter_fourcc(*"mp4v"),
                                           self.fps, (w, h))
            if not self._writer.isOpened():
                raise VideoError(f"{self.path}: cannot write a video here")
            self._size = (h, w)
        if frame_rgb.shape[:2] != self._size:
            frame_rgb = cv2.resize(frame_rgb, self._size[::-1])
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        """Finishes the file and gives it its name (nothing is renamed without frames)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            os.replace(self.tmp, self.path)
