"""Landmarks on whole images: face boxes (given or Haar-detected), the training crop, the
model, and landmarks mapped back to the image's pixels."""

from __future__ import annotations

import json
import os

import numpy as np
from absl import logging

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


class PredictError(ValueError):
    """A problem with one input that is reported, not raised as a traceback."""


def read_image(path: str) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB, or PredictError naming the file."""
    import cv2

    data = np.fromfile(path, np.uint8) if os.path.isfile(path) else None
    if data is None:
        raise PredictError(f"{path}: no such file")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise PredictError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def detect_faces(image_rgb: np.ndarray) -> np.ndarray:
    """Face boxes ``(N, 4)`` x1 y1 x2 y2, largest first, from OpenCV's frontal Haar cascade."""
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


def crop_face(image_rgb: np.ndarray, box: np.ndarray, input_size: int, margin: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """The training crop of ``box``: ``(S, S, 3)`` float32 in [0, 1] and the 3x3
    crop->image matrix. Same matrix as the pipeline (``augment.crop_matrix``)."""
    import cv2

    from awing_tf.data.augment import crop_matrix

    m = crop_matrix(np.asarray(box, np.float32), input_size, margin).numpy().astype(np.float64)
    crop = cv2.warpAffine(image_rgb, m[:2], (input_size, input_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop.astype(np.float32) / 255.0, np.linalg.inv(m)


def predict_image(model, image_rgb: np.ndarray, boxes: np.ndarray, margin: float,
                  decode: str) -> np.ndarray:
    """Landmarks ``(N, K, 2)`` in image pixels for each box ``(N, 4)``."""
    crops, inverses = zip(*(crop_face(image_rgb, b, model.input_size, margin) for b in boxes),
                          strict=True)
    lm = model.predict_landmarks(np.stack(crops), method=decode)
    homo = np.concatenate([lm, np.ones(lm.shape[:-1] + (1,))], axis=-1)
    return np.einsum("bij,bkj->bki", np.stack(inverses), homo)[..., :2]


def list_inputs(path: str) -> list[str]:
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path)
                       if f.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise PredictError(f"{path}: folder has no images ({', '.join(IMAGE_EXTENSIONS)})")
        return files
    if not os.path.exists(path):
        raise PredictError(f"{path}: no such file or folder")
    return [path]


def parse_bbox(values: list[str] | None) -> np.ndarray | None:
    if not values:
        return None
    try:
        box = np.array([float(v) for v in values], np.float32)
    except ValueError:
        raise PredictError(f"--bbox {','.join(values)!r}: not four numbers") from None
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        raise PredictError(f"--bbox {','.join(values)!r}: need x1,y1,x2,y2 with x2>x1, y2>y1")
    return box


def predict_paths(model_path: str, inputs: list[str], output_dir: str,
                  bbox: np.ndarray | None = None, decode: str = "quarter_offset",
                  crop_margin: float | None = None) -> dict:
    """Library entry point: annotated PNGs + ``landmarks.json`` under ``output_dir``."""
    import cv2

    from awing_tf.model_io import data_config_for, load_model
    from awing_tf.plots import draw_landmarks

    model = load_model(model_path)
    margin = data_config_for(model, model_path, crop_margin).crop_margin
    os.makedirs(output_dir, exist_ok=True)
    results: dict = {"model": os.path.abspath(model_path), "images": {}, "problems": {}}
    for path in inputs:
        try:
            image = read_image(path)
            boxes = bbox[None] if bbox is not None else detect_faces(image)
            if len(boxes) == 0:
                raise PredictError(f"{path}: no face found (pass --bbox to give the box)")
            lms = predict_image(model, image, boxes, margin, decode)
        except PredictError as err:
            logging.warning("%s", err)
            results["problems"][path] = str(err)
            continue
        out = image
        for box, lm in zip(boxes, lms, strict=True):
            out = draw_landmarks(out, lm, box)
        stem = os.path.splitext(os.path.basename(path))[0]
        png = os.path.join(output_dir, f"{stem}_landmarks.png")
        cv2.imwrite(png, cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
        results["images"][path] = {
            "annotated": png,
            "faces": [{"box": [float(v) for v in b], "landmarks": lm.round(3).tolist()}
                      for b, lm in zip(boxes, lms, strict=True)],
        }
    with open(os.path.join(output_dir, "landmarks.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    return results
