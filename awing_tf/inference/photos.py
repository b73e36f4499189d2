"""Landmarks on whole photos: face boxes (given or detected), the training crop, the model,
and landmarks mapped back to the photo's pixels."""

from __future__ import annotations

import json
import os

import numpy as np
from absl import logging

from awing_tf.face_crop import crop_image, map_points
from awing_tf.files import IMAGE_EXTENSIONS, is_image_file


class PredictError(ValueError):
    """A problem with one input that is reported, not raised as a traceback."""


def predict_image(model, image_rgb: np.ndarray, boxes: np.ndarray, margin: float,
                  decode: str, flip_test: bool = False) -> np.ndarray:
    """Landmarks ``(N, K, 2)`` in image pixels for each box ``(N, 4)`` of ``image_rgb``."""
    crops, matrices = zip(*(crop_image(image_rgb, b, model.input_size, margin) for b in boxes),
                          strict=True)
    lm = model.predict_landmarks(np.stack(crops), method=decode, flip_test=flip_test)
    return map_points(np.linalg.inv(np.stack(matrices)), lm)


def list_inputs(path: str) -> list[str]:
    """``path`` itself, or the images of a folder (sorted by name)."""
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if is_image_file(f))
        if not files:
            raise PredictError(f"{path}: folder has no images ({', '.join(IMAGE_EXTENSIONS)})")
        return files
    if not os.path.exists(path):
        raise PredictError(f"{path}: no such file or folder")
    return [path]


def parse_bbox(values: list[str] | None) -> np.ndarray | None:
    """``--bbox`` values ``[x1, y1, x2, y2]`` -> ``(4,)`` float32 (None when not given)."""
    if not values:
        return None
    try:
        box = np.array([float(v) for v in values], np.float32)
    except ValueError:
        raise PredictError(f"--bbox {','.join(values)!r}: not four numbers") from None
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        raise PredictError(f"--bbox {','.join(values)!r}: need x1,y1,x2,y2 with x2>x1, y2>y1")
    return box


def boxes_for(path: str, boxes: dict[str, np.ndarray], input_root: str | None) -> np.ndarray:
    """The boxes ``(N, 4)`` of image ``path`` in a box file's ``{NAME: boxes}``: NAME is the
    image's path relative to ``input_root`` (the ``--input`` folder) or its file name."""
    names = [os.path.basename(path)]
    if input_root:
        names.insert(0, os.path.relpath(path, input_root))
    for name in names:
        if name in boxes:
            return boxes[name]
    raise PredictError(f"{path}: no box for {' or '.join(sorted(set(names)))} in the box file")


def predict_paths(model_path: str, inputs: list[str], output_dir: str,
                  bbox: np.ndarray | None = None, decode: str = "quarter_offset",
                  crop_margin: float | None = None,
                  boxes: dict[str, np.ndarray] | None = None, input_root: str | None = None,
                  flip_test: bool = False) -> dict:
    """Library entry point: annotated PNGs + ``landmarks.json`` under ``output_dir``.

    Face boxes come from ``bbox`` (one box for every image), else ``boxes`` (a box file's
    ``{NAME: (N, 4)}``, see :func:`boxes_for`), else the face detector. ``model_path``: a
    ``.keras`` file, a training folder or a pretrained model's name.
    """
    import cv2

    from awing_tf.drawing import draw_landmarks
    from awing_tf.images import read_image
    from awing_tf.inference.face_detection import detect_faces
    from awing_tf.models.loading import load_model, run_data_config

    model = load_model(model_path)
    margin = (crop_margin if crop_margin is not None
              else run_data_config(model_path).margin_for(model.spec.scheme))
    os.makedirs(output_dir, exist_ok=True)
    results: dict = {"model": model_path if not os.path.exists(model_path)
                     else os.path.abspath(model_path), "images": {}, "problems": {}}
    for path in inputs:
        try:
            image = read_image(path)
            if bbox is not None:
                found = bbox[None]
            elif boxes is not None:
                found = boxes_for(path, boxes, input_root)
            else:
                found = detect_faces(image)
            if len(found) == 0:
                raise PredictError(f"{path}: no face found (pass --bbox to give the box)")
            lms = predict_image(model, image, found, margin, decode, flip_test)
        except (OSError, ValueError) as err:
            logging.warning("%s", err)
            results["problems"][path] = str(err)
            continue
        out = image
        for box, lm in zip(found, lms, strict=True):
            out = draw_landmarks(out, lm, box)
        stem = os.path.splitext(os.path.basename(path))[0]
        png = os.path.join(output_dir, f"{stem}_landmarks.png")
        cv2.imwrite(png, cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
        results["images"][path] = {
            "annotated": png,
            "faces": [{"box": [float(v) for v in b], "landmarks": lm.round(3).tolist()}
                      for b, lm in zip(found, lms, strict=True)],
        }
    with open(os.path.join(output_dir, "landmarks.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    return results
