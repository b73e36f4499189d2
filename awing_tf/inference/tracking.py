"""Faces through a video: detect, then track each face from its own landmarks, re-detect
when needed, keep identities, and smooth each face's landmarks with a One Euro filter.

The model and the detector are passed in as two functions, so the same tracker runs a Keras
``FaceAligner`` (:func:`keras_aligner`) or the TFLite runner (``export.runner``):

* ``align(frame, boxes (N, 4)) -> (landmarks (N, K, 2), confidences (N, K))``, the boxes in
  the training convention (the tight box of a face's landmarks);
* ``detect(frame) -> boxes (N, 4)`` in the same convention (:func:`mapped_detector`: the
  detector's boxes through its ``BoxMapping``).

Per frame: the detector runs on the first frame, every ``detect_every`` frames, when no
face is tracked, and when a tracked face's mean landmark confidence falls below
``min_track_confidence``; otherwise each face's box is the tight box of its previous
landmarks (smoothed when smoothing is on), as the crops were made in training. Detections take over the track
they overlap most (IoU of boxes >= ``match_iou``), start new tracks otherwise; a track the
detector does not confirm when it runs is dropped, and so is a tracked face whose
confidence stays low after a re-detection; two tracks on one face (IoU >
``duplicate_iou``) are merged into the older.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from awing_tf.inference.one_euro import OneEuroFilter

AlignFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
DetectFn = Callable[[np.ndarray], np.ndarray]


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """``landmarks (K, 2)`` -> their tight box ``(4,)`` x1, y1, x2, y2 (finite points)."""
    pts = np.asarray(landmarks, np.float64)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a (N, 4)`` and ``b (M, 4)`` -> ``(N, M)``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)[:, None]
    b = np.asarray(b, np.float64).reshape(-1, 4)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    union = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
             + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter)
    return inter / np.maximum(union, 1e-9)


@dataclasses.dataclass(frozen=True)
class SmoothingOptions:
    """One Euro settings (``awing_tf.inference.one_euro``); speeds in face sizes per
    second (the face size: the square root of its landmark box's area)."""

    min_cutoff: float = 1.0
    beta: float = 5.0
    d_cutoff: float = 1.0


DEFAULT_SMOOTHING = SmoothingOptions()


@dataclasses.dataclass
class TrackedFace:
    """One face in one frame: ``track_id``; ``box (4,)`` the crop box used; ``source``
    ``"detector"`` or ``"tracking"``; ``landmarks (K, 2)`` (smoothed when smoothing is on)
    and ``raw_landmarks (K, 2)`` in frame pixels; ``confidences (K,)``."""

    track_id: int
    box: np.ndarray
    source: str
    landmarks: np.ndarray
    raw_landmarks: np.ndarray
    confidences: np.ndarray

    @property
    def mean_confidence(self) -> float:
        return float(np.mean(self.confidences))


@dataclasses.dataclass
class _Track:
    track_id: int
    raw: np.ndarray
    confidence: float
    filter: OneEuroFilter | None
    smooth: np.ndarray | None = None


class FaceTracker:
    """Tracks faces frame by frame: ``faces = tracker.update(frame_rgb, t)``.

    Args:
      align, detect: the model and the detector (module docstring).
      detect_every: run the detector every this many frames (also on frame 0).
      min_track_confidence: a tracked face below this mean confidence triggers detection.
      smoothing: One Euro settings, or None for raw landmarks.
      match_iou, duplicate_iou: box overlaps that link a detection to a track and that
        mark two tracks as one face.
      box_from_smoothed: with smoothing, the next frame's box is the landmark box of the
        smoothed landmarks (the raw ones feed their own jitter back into the crop: on the
        synthetic clip of ``bench/video.py`` this halves the raw jitter).
    """

    def __init__(self, align: AlignFn, detect: DetectFn, detect_every: int = 10,
                 min_track_confidence: float = 0.5,
                 smoothing: SmoothingOptions | None = DEFAULT_SMOOTHING,
                 match_iou: float = 0.3, duplicate_iou: float = 0.5,
                 box_from_smoothed: bool = True):
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every!r}")
        if not 0.0 <= min_track_confidence <= 1.0:
            raise ValueError(f"min_track_confidence must be in [0, 1], got "
                             f"{min_track_confidence!r}")
        self.align, self.detect = align, detect
        self.detect_every, self.min_track_confidence = detect_every, min_track_confidence
        self.smoothing, self.match_iou, self.duplicate_iou = smoothing, match_iou, duplicate_iou
        self.box_from_smoothed = box_from_smoothed
        self.tracks: list[_Track] = []
        self.frame_index = 0
        self.detector_calls = 0
        self._next_id = 0

    def _new_filter(self) -> OneEuroFilter | None:
        s = self.smoothing
        return None if s is None else OneEuroFilter(s.min_cutoff, s.beta, s.d_cutoff)

    def _detect(self, frame: np.ndarray) -> np.ndarray:
        self.detector_calls += 1
        return np.asarray(self.detect(frame), np.float32).reshape(-1, 4)

    def update(self, frame: np.ndarray, t: float) -> list[TrackedFace]:
        """The faces of ``frame (H, W, 3)`` uint8 RGB taken at ``t`` seconds."""
        boxes = [landmark_box(tr.smooth if self.box_from_smoothed and tr.smooth is not None
                              else tr.raw) for tr in self.tracks]
        sources = ["tracking"] * len(boxes)
        due = (self.frame_index % self.detect_every == 0 or not self.tracks
               or any(tr.confidence < self.min_track_confidence for tr in self.tracks))
        owners: list[_Track | None] = list(self.tracks)
        if due:
            owners, boxes, sources = self._with_detections(frame, owners, boxes, sources)
        lm, conf = self._align(frame, boxes)
        if not due and any(float(np.mean(c)) < self.min_track_confidence for c in conf):
            # a face slipped while tracking: detect now rather than on the next frame
            owners, boxes, sources = self._with_detections(frame, owners, boxes, sources)
            lm, conf = self._align(frame, boxes)
        faces = self._commit(owners, boxes, sources, lm, conf, t)
        self.frame_index += 1
        return faces

    def _align(self, frame: np.ndarray, boxes: list[np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray]:
        if not boxes:
            return np.zeros((0, 0, 2), np.float32), np.zeros((0, 0), np.float32)
        lm, conf = self.align(frame, np.stack(boxes).astype(np.float32))
        return np.asarray(lm, np.float32), np.asarray(conf, np.float32)

    def _with_detections(self, frame, owners, boxes, sources):
        """Detections replace the boxes of the tracks they overlap (keeping their identity)
        and start new tracks; a track that no detection confirms is dropped: when the
        detector runs it decides which faces are there (a track on a face that left or a
        scene that cut would otherwise live on while the model still sees a face-like
        pattern)."""
        found = self._detect(frame)
        overlap = box_iou(found, np.stack(boxes)) if boxes and len(found) else (
            np.zeros((len(found), len(boxes))))
        new_owners, new_boxes = [], []
        taken: set[int] = set()
        for d in np.argsort(-overlap.max(axis=1)) if overlap.size else range(len(found)):
            j = int(np.argmax(overlap[d])) if overlap.size else -1
            if j >= 0 and overlap[d, j] >= self.match_iou and j not in taken:
                taken.add(j)
                new_owners.append(owners[j])
            else:
                new_owners.append(None)
            new_boxes.append(found[d])
        return new_owners, new_boxes, ["detector"] * len(new_boxes)

    def _commit(self, owners, boxes, sources, lm, conf, t) -> list[TrackedFace]:
        tracks, faces = [], []
        for owner, box, source, points, c in zip(owners, boxes, sources, lm, conf, strict=True):
            mean_c = float(np.mean(c))
            if source == "tracking" and mean_c < self.min_track_confidence:
                continue  # lost, and the detector did not find it again
            if any(box_iou(landmark_box(tr.raw), landmark_box(points))[0, 0]
                   > self.duplicate_iou for tr in tracks):
                continue  # the same face as an older track in this frame
            if owner is None:
                owner = _Track(self._next_id, points, mean_c, self._new_filter())
                self._next_id += 1
            owner.raw, owner.confidence = points, mean_c
            smooth = points
            if owner.filter is not None:
                b = landmark_box(points)
                size = float(np.sqrt(max((b[2] - b[0]) * (b[3] - b[1]), 1.0)))
                smooth = owner.filter(points, t, scale=size).astype(np.float32)
            owner.smooth = smooth
            tracks.append(owner)
            faces.append(TrackedFace(owner.track_id, np.asarray(box, np.float32), source,
                                     smooth, points, c))
        self.tracks = tracks
        return faces


def keras_aligner(model, margin: float | None = None, method: str = "quarter_offset",
                  batch_size: int = 32) -> AlignFn:
    """``align`` for :class:`FaceTracker` from a ``FaceAligner``: all faces of a frame in
    one model call."""
    from awing_tf.inference.alignment import align_images

    def align(frame: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        faces = align_images(model, [frame], [boxes], margin=model.margin if margin is None
                             else margin, method=method, batch_size=batch_size,
                             with_pose=False)[0]
        return (np.stack([f.landmarks for f in faces]), np.stack([f.confidences for f in faces]))

    return align


def mapped_detector(detector: str = "blazeface", min_face_score: float = 0.5,
                    num_threads: int = 1) -> DetectFn:
    """``detect`` for :class:`FaceTracker`: the detector's boxes through its box mapping."""
    from awing_tf.inference.box_mapping import mapping_for
    from awing_tf.inference.face_detection import detect_faces_by_model

    def detect(frame: np.ndarray) -> np.ndarray:
        found, model = detect_faces_by_model(frame, detector=detector,
                                             min_score=min_face_score, num_threads=num_threads)
        return mapping_for(model).apply(found.boxes)

    return detect
