"""Landmarks through a video: frames in, the :class:`FaceTracker` per frame, an annotated
video and per-frame JSON lines out (no TensorFlow import: the model comes in as a function,
so ``awing-predict`` passes a Keras ``FaceAligner`` and ``export.runner`` a ``.tflite``)."""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np

from awing_tf.inference.tracking import AlignFn, DetectFn, FaceTracker, SmoothingOptions
from awing_tf.inference.video_io import VideoError, VideoWriter, open_source


@dataclasses.dataclass(frozen=True)
class VideoOptions:
    """``detect_every`` frames between detector runs (1: every frame, no tracking);
    ``min_track_confidence``; ``smoothing`` (None: raw landmarks); ``max_frames`` (None:
    all); ``frames_folder``: the input is a folder of frames; ``raw_landmarks``: also write
    each face's unsmoothed landmarks (``raw_landmarks``) to the JSON lines."""

    detect_every: int = 10
    min_track_confidence: float = 0.5
    smoothing: SmoothingOptions | None = SmoothingOptions()
    max_frames: int | None = None
    frames_folder: bool = False
    raw_landmarks: bool = False


def face_json(face, pose) -> dict:
    """One tracked face of one frame as a JSON-ready dict."""
    return {
        "id": face.track_id, "source": face.source,
        "box": [round(float(v), 2) for v in face.box],
        "landmarks": np.round(face.landmarks.astype(np.float64), 3).tolist(),
        "confidences": np.round(face.confidences.astype(np.float64), 4).tolist(),
        "mean_confidence": round(face.mean_confidence, 4),
        "pose": None if pose is None else {
            name: round(float(getattr(pose, name)), 2) for name in ("yaw", "pitch", "roll")},
    }


def _pose(landmarks: np.ndarray, size: tuple[int, int]):
    from awing_tf.inference.head_pose import head_pose, model_points

    if len(landmarks) != len(model_points()) or not np.all(np.isfinite(landmarks)):
        return None
    try:
        return head_pose(landmarks, size)
    except ValueError:
        return None


def predict_video(spec: str, align: AlignFn, detect: DetectFn, output_dir: str,
                  options: VideoOptions = VideoOptions(), progress: bool = True) -> dict:
    """Runs the tracker over the video ``spec`` (a file, a camera index or, with
    ``options.frames_folder``, a folder of frames); writes ``NAME_landmarks.mp4`` (same
    size and frame rate; landmarks coloured by confidence, the crop box, pose axes) and ``NAME_landmarks.jsonl`` (per frame:
    ``frame``, ``time``, ``faces``) under ``output_dir``. Returns a summary: frames, faces,
    detector calls, skipped frames, frames per second."""
    from tqdm import tqdm

    from awing_tf.drawing import draw_landmarks, draw_pose_axes

    source, frames = open_source(spec, options.frames_folder)
    os.makedirs(output_dir, exist_ok=True)
    stem = "camera" + spec if spec.isdigit() else os.path.splitext(
        os.path.basename(os.path.normpath(spec)))[0]
    base = os.path.join(output_dir, f"{stem}_landmarks")
    tracker = FaceTracker(align, detect, options.detect_every, options.min_track_confidence,
                          options.smoothing)
    writer = VideoWriter(base + ".mp4", source.fps)
    total = source.frame_count
    if options.max_frames is not None:
        total = min(total or options.max_frames, options.max_frames)
    bar = tqdm(total=total, desc=stem, unit="frame", disable=not progress, mininterval=1.0)
    done, faces_seen, start = 0, 0, time.perf_counter()
    with open(base + ".jsonl.tmp", "w") as lines:
        for index, t, frame in frames:
            if options.max_frames is not None and done >= options.max_frames:
                break
            faces = tracker.update(frame, t)
            out, records = frame, []
            for face in faces:
                pose = _pose(face.landmarks, frame.shape[:2])
                out = draw_landmarks(out, face.landmarks, face.box,
                                     confidences=face.confidences)
                if pose is not None:
                    out = draw_pose_axes(out, pose, face.landmarks)
                records.append(face_json(face, pose))
                if options.raw_landmarks:
                    records[-1]["raw_landmarks"] = np.round(
                        face.raw_landmarks.astype(np.float64), 3).tolist()
            writer.write(out)
            lines.write(json.dumps({"frame": index, "time": round(t, 4), "faces": records})
                        + "\n")
            done += 1
            faces_seen += len(faces)
            bar.update(1)
    bar.close()
    seconds = time.perf_counter() - start
    if done == 0:
        os.remove(base + ".jsonl.tmp")
        raise VideoError(f"{spec}: no frame could be read"
                         + (f" ({len(source.skipped)} failed to decode)" if source.skipped
                            else ""))
    writer.close()
    os.replace(base + ".jsonl.tmp", base + ".jsonl")
    return {"input": spec, "video": base + ".mp4", "jsonl": base + ".jsonl", "frames": done,
            "fps_in": round(source.fps, 3), "faces": faces_seen,
            "detector_calls": tracker.detector_calls,
            "skipped_frames": [{"frame": i, "reason": r} for i, r in source.skipped],
            "frames_per_second": round(done / max(seconds, 1e-9), 2)}
