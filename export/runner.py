r"""Run an exported ``.tflite`` landmark model on an image: crop, normalize, invoke, decode.

    python -m export.runner --tflite=mobile_int8.tflite --image=face.jpg \
        [--bbox=x1,y1,x2,y2] [--margin=0] --output=annotated.png [--json=faces.json]

Without ``--bbox`` the faces are found by the bundled BlazeFace detector
(``awing_tf.inference.face_detection``, LiteRT too) and each detector box is mapped to the
box the model was trained with (``awing_tf.inference.box_mapping``). Every face gets its
landmarks, a confidence per landmark (``awing_tf.inference.confidence``) and, for 68-point
models, the head pose (``awing_tf.inference.head_pose``).

The ``.tflite`` (``export.tflite``) maps a ``(1, S, S, 3)`` float32 crop in [0, 1] to the
last stack's landmark heatmaps ``(1, h, w, K)``. Everything around it is NumPy / OpenCV and
follows the project's conventions exactly (docs/ARCHITECTURE.md):

* crop: the square of the box's longer side (times ``1 + margin``) centred on the box centre,
  warped to ``S x S`` by one affine ``x' = (x - (cx - side / 2)) k - 0.5``, ``k = S / side``,
  pixel centres at integer coordinates (``cv2.warpAffine`` bilinear, constant 0 border) —
  ``awing_tf.face_crop``, the same matrix as ``awing_tf.data.geometry.crop_matrix`` and the
  SavedModel's ``align_image``;
* decode: ``export.heatmap_decode.decode_heatmaps``, ``awing_tf.codec.decode_heatmaps`` in
  NumPy (argmax, quarter-pixel shift or the DARK-style sub-pixel fit,
  ``x = (x_h + 0.5) / s - 0.5``);
* crop pixels go back to image pixels with the exact inverse of the crop affine.

Models with an integer input tensor (``uint8``/``int8``) are fed quantized values using the
tensor's scale and zero point; integer outputs are dequantized.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
from absl import app, flags

from awing_tf import pretrained
from awing_tf.choices import DECODE_METHODS, FACE_DETECTORS
from awing_tf.drawing import draw_landmarks, draw_pose_axes
from awing_tf.face_crop import check_box, crop_image, crop_matrix, map_points
from awing_tf.images import read_image
from awing_tf.inference.confidence import landmark_confidence
from export.heatmap_decode import decode_heatmaps

__all__ = ["TFLiteLandmarker", "crop_image", "crop_matrix", "decode_heatmaps"]

# === Interpreter ===


class TFLiteLandmarker:
    """A ``.tflite`` landmark model behind ``landmarks = landmarker(image_rgb, box)``.

    Args:
      path: the ``.tflite`` file (``export.tflite.convert`` output).
      num_threads: interpreter threads.
      margin: crop enlargement fraction (as the training data's ``crop_margin``).
      method: decode method, ``quarter_offset`` or ``subpixel``.
    """

    def __init__(self, path: str, num_threads: int = 1, margin: float = 0.0,
                 method: str = "quarter_offset"):
        from ai_edge_litert.interpreter import Interpreter

        if not os.path.isfile(path):
            raise FileNotFoundError(f"TFLite model not found: {path}")
        if method not in DECODE_METHODS:
            raise ValueError(f"method must be one of {DECODE_METHODS}, got {method!r}")
        self.interpreter = Interpreter(model_path=path, num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        shape = self._input["shape"]
        if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
            raise ValueError(f"{path}: expected a (1, S, S, 3) input, got {list(shape)}")
        self.input_size = int(shape[1])
        self.margin = margin
        self.method = method

    def heatmaps(self, crops: np.ndarray) -> np.ndarray:
        """``(1, S, S, 3)`` float32 in [0, 1] -> heatmaps ``(1, h, w, K)`` float32."""
        x = np.asarray(crops, np.float32)
        dtype = self._input["dtype"]
        if dtype != np.float32:
            scale, zero = self._input["quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
        self.interpreter.set_tensor(self._input["index"], x)
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self._output["index"])
        if out.dtype != np.float32:
            scale, zero = self._output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return out

    def predict_crop(self, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One ``(S, S, 3)`` float32 crop -> ``(landmarks (K, 2) crop px, scores (K,))``."""
        lm, scores = decode_heatmaps(self.heatmaps(crop[None]), self.method, self.input_size)
        return lm[0], scores[0]

    def align(self, image_rgb: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``image_rgb (H, W, 3)`` uint8, ``box (4,)`` x1, y1, x2, y2 -> ``(landmarks (K, 2)
        image px, confidences (K,) in [0, 1])``.

        ValueError, as the SavedModel's ``align_image`` rejects the same inputs: an image
        that is not ``(H, W, 3)`` uint8 (float, grey, RGBA), "box must have x2 > x1 and
        y2 > y1" (also zero-area boxes), "box ... lies outside the WxH image"."""
        image = np.asarray(image_rgb)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 \
                or 0 in image.shape:
            raise ValueError(f"image_rgb must be (H, W, 3) uint8, got {image.dtype} "
                             f"{image.shape}")
        box = check_box(box, image.shape)
        crop, matrix = crop_image(image, box, self.input_size, self.margin)
        lm, scores = self.predict_crop(crop)
        return (map_points(np.linalg.inv(matrix), lm).astype(np.float32),
                landmark_confidence(scores))

    def __call__(self, image_rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """``image_rgb (H, W, 3)`` uint8, ``box (4,)`` x1, y1, x2, y2 -> ``(K, 2)`` image px."""
        return self.align(image_rgb, box)[0]

    def faces(self, image_rgb: np.ndarray, boxes: np.ndarray | None = None,
              detector: str = "blazeface", min_face_score: float = 0.5) -> list[dict]:
        """Every face of ``image_rgb``: ``boxes (N, 4)`` as given (the training convention),
        else detected and mapped. Per face ``{box, crop_box, detector_score, landmarks (K, 2),
        confidences (K,), pose (a ``HeadPose``: yaw, pitch, roll degrees) or None}``."""
        from awing_tf.inference import head_pose
        from awing_tf.inference.box_mapping import mapping_for
        from awing_tf.inference.face_detection import detect_faces_by_model

        if boxes is None:
            det, model = detect_faces_by_model(image_rgb, detector=detector,
                                             min_score=min_face_score)
            found, crop_boxes, scores = det.boxes, mapping_for(model).apply(det.boxes), (
                det.scores.tolist())
        else:
            found = crop_boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
            scores = [None] * len(found)
        out = []
        for box, crop_box, score in zip(found, crop_boxes, scores, strict=True):
            lm, conf = self.align(image_rgb, crop_box)
            pose = None
            if len(lm) == len(head_pose.model_points()):
                pose = head_pose.head_pose(lm, image_rgb.shape[:2])
            out.append({"box": box, "crop_box": crop_box, "detector_score": score,
                        "landmarks": lm, "confidences": conf, "pose": pose})
        return out


# === CLI ===


def parse_box(text: str) -> np.ndarray:
    """``"x1,y1,x2,y2"`` -> ``(4,)`` float32."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--bbox must be x1,y1,x2,y2 numbers, got {text!r}") from None
    if len(values) != 4 or values[2] <= values[0] or values[3] <= values[1]:
        raise ValueError(f"--bbox must be x1,y1,x2,y2 with x2 > x1 and y2 > y1, got {text!r}")
    return np.asarray(values, np.float32)


def resolve_tflite(model: str, margin: float | None) -> tuple[str, float]:
    """``(path, crop margin)`` of ``--tflite``: a file (margin ``margin`` or 0), or a
    pretrained model's name (its checked ``.tflite`` and, unless given, its own margin)."""
    if pretrained.is_pretrained_name(model):
        info = pretrained.manifest(model)
        return pretrained.file_path(model, "tflite"), (
            float(info.get("crop_margin") or 0.0) if margin is None else margin)
    return model, 0.0 if margin is None else margin


def define_flags() -> None:
    flags.DEFINE_string("tflite", None, "The .tflite landmark model, or a pretrained model's "
                        "name (default: the pretrained 300w68_mobile int8 model).")
    flags.DEFINE_string("image", None, "Input image (any OpenCV-readable format).")
    flags.DEFINE_string("video", None, "Input video instead of --image: a file OpenCV's "
                        "VideoCapture reads, a camera index (0) or, with --frames, a folder "
                        "of frames; writes NAME_landmarks.mp4 and .jsonl to --output_dir.")
    flags.DEFINE_bool("frames", False, "--video is a folder of frames in name order.")
    flags.DEFINE_string("output_dir", ".", "Video: where the annotated video and JSON lines go.")
    flags.DEFINE_integer("max_frames", None, "Video: stop after this many frames.")
    flags.DEFINE_integer("detect_every", 10, "Video: frames between detector runs (1: detect "
                         "every frame, no tracking).")
    flags.DEFINE_float("min_track_confidence", 0.5, "Video: re-detect a face whose mean "
                       "landmark confidence falls below this.")
    flags.DEFINE_enum("smoothing", "one_euro", ["one_euro", "none"], "Video: smoothing.")
    flags.DEFINE_float("min_cutoff", 1.0, "One Euro cut-off at rest, Hz.")
    flags.DEFINE_float("beta", 5.0, "One Euro cut-off increase per face size per second.")
    flags.DEFINE_string("bbox", None, "Face box x1,y1,x2,y2 in pixels (default: detect).")
    flags.DEFINE_enum("detector", "blazeface", list(FACE_DETECTORS),
                      "Face detector when no --bbox is given.")
    flags.DEFINE_float("min_face_score", 0.5, "Lowest detector score kept.")
    flags.DEFINE_float("margin", None, "Crop enlargement fraction (the training crop_margin; "
                       "default: a pretrained model's own, else 0).")
    flags.DEFINE_enum("method", "quarter_offset", list(DECODE_METHODS), "Decode method.")
    flags.DEFINE_integer("num_threads", 1, "Interpreter threads.")
    flags.DEFINE_string("output", "annotated.png", "Annotated PNG to write.")
    flags.DEFINE_string("json", None, "Also write the faces (box, landmarks, confidences, "
                        "pose) to this JSON file.")



def video_aligner(landmarker: TFLiteLandmarker):
    """``align`` for ``awing_tf.inference.tracking.FaceTracker`` from the runner."""
    def align(frame: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lm, conf = zip(*(landmarker.align(frame, b) for b in boxes), strict=True)
        return np.stack(lm), np.stack(conf)

    return align


def run_video(f) -> None:
    """``--video``: the tracker over the frames, with the ``.tflite`` as the model."""
    from awing_tf.inference.tracking import SmoothingOptions, mapped_detector
    from awing_tf.inference.video import VideoOptions, predict_video

    try:
        path, margin = resolve_tflite(f.tflite or pretrained.DEFAULT_TFLITE, f.margin)
        landmarker = TFLiteLandmarker(path, f.num_threads, margin, f.method)
        options = VideoOptions(
            detect_every=f.detect_every, min_track_confidence=f.min_track_confidence,
            smoothing=(SmoothingOptions(f.min_cutoff, f.beta) if f.smoothing == "one_euro"
                       else None), max_frames=f.max_frames, frames_folder=f.frames)
        summary = predict_video(f.video, video_aligner(landmarker),
                                mapped_detector(f.detector, f.min_face_score), f.output_dir,
                                options)
    except (FileNotFoundError, KeyError, ValueError) as e:
        raise app.UsageError(str(e)) from None
    print(f"{summary['frames']} frames, {summary['detector_calls']} detector calls, "
          f"{summary['frames_per_second']:.1f} frames/s, {len(summary['skipped_frames'])} "
          f"skipped -> {summary['video']}, {summary['jsonl']}")


def main(argv: list[str]) -> None:
    del argv
    f = flags.FLAGS
    if (f.image is None) == (f.video is None):
        raise app.UsageError("give --image or --video")
    if f.video is not None:
        run_video(f)
        return
    try:
        path, margin = resolve_tflite(f.tflite or pretrained.DEFAULT_TFLITE, f.margin)
        image = read_image(f.image)
        boxes = None if f.bbox is None else parse_box(f.bbox)[None]
        landmarker = TFLiteLandmarker(path, f.num_threads, margin, f.method)
    except (FileNotFoundError, KeyError, ValueError) as e:
        raise app.UsageError(str(e)) from None
    try:
        faces = landmarker.faces(image, boxes, f.detector, f.min_face_score)
    except ValueError as e:
        raise app.UsageError(f"{f.image}: {e}") from None
    if not faces:
        raise app.UsageError(f"{f.image}: no face found (pass --bbox to give the box)")
    annotated = image
    for face in faces:
        annotated = draw_landmarks(annotated, face["landmarks"], face["box"],
                                   confidences=face["confidences"])
        if face["pose"] is not None:
            annotated = draw_pose_axes(annotated, face["pose"], face["landmarks"])
    if not cv2.imwrite(f.output, cv2.cvtColor(annotated, cv2.COLOR_RGB2BGR)):
        raise app.UsageError(f"could not write {f.output}")
    for i, face in enumerate(faces):
        p = face["pose"]
        pose = "" if p is None else f" pose yaw {p.yaw:.0f} pitch {p.pitch:.0f} roll {p.roll:.0f}"
        print(f"face {i}: {len(face['landmarks'])} landmarks, mean confidence "
              f"{float(np.mean(face['confidences'])):.2f}{pose}")
    if f.json:
        _write_json(f.json, f.image, faces)
    print(f"{len(faces)} face(s) -> {f.output}")


def _write_json(path: str, image: str, faces: list[dict]) -> None:
    """The faces as JSON at ``path`` (through a temporary name)."""
    import json

    def plain(key, v):
        if v is None:
            return None
        if key == "pose":
            return {name: round(float(getattr(v, name)), 2) for name in ("yaw", "pitch", "roll")}
        return np.round(np.asarray(v, np.float64), 4).tolist()

    data = {"image": image, "faces": [{k: plain(k, v) for k, v in face.items()}
                                      for face in faces]}
    with open(path + ".tmp", "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    define_flags()
    app.run(main)
