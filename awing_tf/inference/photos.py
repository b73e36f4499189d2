"""Landmarks on whole photos: face boxes (given or detected), the training crop, the model,
and landmarks mapped back to the photo's pixels."""

from __future__ import annotations

import json
import os

import numpy as np
from absl import logging

from awing_tf.files import IMAGE_EXTENSIONS, is_image_file


class PredictError(ValueError):
    """A problem with one input that is reported, not raised as a traceback."""


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


def _image_boxes(path: str, bbox: np.ndarray | None, boxes: dict[str, np.ndarray] | None,
                 input_root: str | None) -> np.ndarray | None:
    """The given boxes ``(N, 4)`` of image ``path``, or None to detect its faces."""
    if bbox is not None:
        return bbox[None]
    if boxes is not None:
        return boxes_for(path, boxes, input_root)
    return None


def draw_faces(image: np.ndarray, faces: list) -> np.ndarray:
    """``image (H, W, 3)`` uint8 with each :class:`AlignedFace`'s box, landmarks coloured by
    confidence and head-pose axes drawn."""
    from awing_tf.drawing import draw_landmarks, draw_pose_axes

    out = image
    for face in faces:
        out = draw_landmarks(out, face.landmarks, face.box, confidences=face.confidences)
        if face.pose is not None:
            out = draw_pose_axes(out, face.pose, face.landmarks)
    return out


def predict_paths(model_path: str, inputs: list[str], output_dir: str,
                  bbox: np.ndarray | None = None, decode: str = "quarter_offset",
                  crop_margin: float | None = None,
                  boxes: dict[str, np.ndarray] | None = None, input_root: str | None = None,
                  flip_test: bool = False, detector: str = "blazeface",
                  min_face_score: float = 0.5, batch_size: int = 16,
                  progress: bool = False) -> dict:
    """Library entry point: per image an annotated PNG and a JSON of its faces, and the
    index ``landmarks.json``, under ``output_dir``.

    Face boxes come from ``bbox`` (one box for every image), else ``boxes`` (a box file's
    ``{NAME: (N, 4)}``, see :func:`boxes_for`), else the face ``detector`` (scores below
    ``min_face_score`` dropped). Images go through ``FaceAligner.align`` ``batch_size`` at a
    time. ``model_path``: a ``.keras`` file, a training folder or a pretrained model's name.
    Returns the index: ``{"model", "images": {path: {"annotated", "json", "faces"}},
    "problems": {path: message}}`` (``faces``: the face count).

    An input that cannot be used is logged and listed under ``problems`` with a message
    naming the file, and the run carries on: a file that is not an image ("not a readable
    image"), a box of the box file that is inverted or zero-area ("box must have x2 > x1
    and y2 > y1") or does not overlap the image ("box lies outside the 640x480
    image"), an image without a detected face. Boxes partly outside the image are used
    (black beyond the edge). Photos are read as displayed (EXIF orientation applied, see
    ``awing_tf.images``), so landmarks are in the displayed image's pixels.
    """
    import cv2
    from tqdm import tqdm

    from awing_tf.images import read_image
    from awing_tf.inference.alignment import align_images, check_boxes
    from awing_tf.models.loading import load_model

    model = load_model(model_path)
    margin = crop_margin if crop_margin is not None else model.margin
    os.makedirs(output_dir, exist_ok=True)
    model_name = model_path if not os.path.exists(model_path) else os.path.abspath(model_path)
    index: dict = {"model": model_name, "detector": None if bbox is not None or boxes
                   else detector, "images": {}, "problems": {}}
    bar = tqdm(total=len(inputs), desc="photos", unit="image", disable=not progress,
               mininterval=1.0)
    for start in range(0, len(inputs), batch_size):
        chunk, images, given = [], [], []
        for path in inputs[start:start + batch_size]:
            try:
                image = read_image(path)
                chosen = _image_boxes(path, bbox, boxes, input_root)
                if chosen is not None:
                    chosen = check_boxes(chosen, f"{path}: boxes", image.shape)
            except (OSError, ValueError, cv2.error) as err:
                logging.warning("%s", err)
                index["problems"][path] = str(err)
                continue
            chunk.append(path)
            images.append(image)
            given.append(chosen)
        try:
            per_image = align_images(
                model, images, given if bbox is not None or boxes is not None else None,
                margin=margin, detector=detector, min_face_score=min_face_score,
                method=decode, flip_test=flip_test, batch_size=batch_size)
        except ValueError as err:
            raise PredictError(str(err)) from None
        for path, image, faces in zip(chunk, images, per_image, strict=True):
            if not faces:
                message = f"{path}: no face found (pass --bbox to give the box)"
                logging.warning("%s", message)
                index["problems"][path] = message
                continue
            stem = os.path.join(output_dir,
                                f"{os.path.splitext(os.path.basename(path))[0]}_landmarks")
            annotated = draw_faces(image, faces)
            if not cv2.imwrite(stem + ".png", cv2.cvtColor(annotated, cv2.COLOR_RGB2BGR,
                                                           dst=annotated)):
                raise PredictError(f"{stem}.png: could not write the annotated image")
            del annotated
            _write_json(stem + ".json", {"image": path, "size": list(image.shape[:2]),
                                         "model": model_name,
                                         "faces": [f.to_json() for f in faces]})
            index["images"][path] = {"annotated": stem + ".png", "json": stem + ".json",
                                     "faces": len(faces)}
        bar.update(len(inputs[start:start + batch_size]))
    bar.close()
    _write_json(os.path.join(output_dir, "landmarks.json"), index)
    return index


def _write_json(path: str, data: dict) -> None:
    """``data`` to ``path`` through a temporary name (never a half-written file)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)
