"""Annotated faces for the detector benchmark, and matching detections to them (NumPy).

* ``faces_300w(folder)``: one face per image (``list.txt`` + same-stem ``.pts``, 68 points).
* ``dlib_photos(folder)``: dlib's example photos, several 68-point faces per photo.
* ``match_faces``: greedy one-to-one matching of detector boxes to annotated faces by IoU
  with the face's tight landmark box.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import numpy as np

from awing_tf.inference.tracking import box_iou as iou

# a detection finds an annotated face when its box overlaps the face's landmark box this much
MATCH_IOU = 0.3


def tight_boxes(landmarks: np.ndarray) -> np.ndarray:
    """``landmarks (N, K, 2)`` -> their tight boxes ``(N, 4)`` x1, y1, x2, y2."""
    lm = np.asarray(landmarks, np.float64).reshape(len(landmarks), -1, 2)
    return np.concatenate([lm.min(axis=1), lm.max(axis=1)], axis=-1)


def match_faces(detections: np.ndarray, faces: np.ndarray,
                threshold: float = MATCH_IOU) -> list[tuple[int, int]]:
    """Greedy matching, highest IoU first: ``[(detection index, face index)]`` pairs with
    IoU >= ``threshold``; each detection and each face used at most once.
    ``detections (N, 4)``, ``faces (M, 4)`` boxes."""
    if len(detections) == 0 or len(faces) == 0:
        return []
    overlap = iou(detections, faces)
    pairs, used_d, used_f = [], set(), set()
    for flat in np.argsort(-overlap, axis=None):
        d, f = np.unravel_index(flat, overlap.shape)
        if overlap[d, f] < threshold:
            break
        if d not in used_d and f not in used_f:
            pairs.append((int(d), int(f)))
            used_d.add(d)
            used_f.add(f)
    return pairs


def read_pts(path: str) -> np.ndarray:
    """A 300W ``.pts`` file -> ``(K, 2)`` float64."""
    lines = [ln.strip() for ln in open(path) if ln.strip()]
    body = lines[lines.index("{") + 1:lines.index("}")]
    return np.array([[float(v) for v in ln.split()] for ln in body], np.float64)


def faces_300w(folder: str) -> list[tuple[str, np.ndarray]]:
    """``[(image path, landmarks (68, 2))]`` of the images in ``folder/list.txt``."""
    with open(os.path.join(folder, "list.txt")) as fh:
        names = [ln.strip() for ln in fh if ln.strip()]
    out = []
    for name in names:
        path = os.path.join(folder, name)
        out.append((path, read_pts(os.path.splitext(path)[0] + ".pts")))
    return out


def dlib_photos(folder: str) -> list[tuple[str, np.ndarray]]:
    """``[(photo path, landmarks (N, 68, 2))]``: dlib's training and testing photos with
    their annotated faces."""
    photos: dict[str, list[np.ndarray]] = {}
    for xml in ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"):
        for image in ET.parse(os.path.join(folder, xml)).getroot().iter("image"):
            for box in image.iter("box"):
                parts = sorted(box.iter("part"), key=lambda p: int(p.get("name")))
                pts = np.array([[float(p.get("x")), float(p.get("y"))] for p in parts])
                photos.setdefault(os.path.join(folder, image.get("file")), []).append(pts)
    return [(path, np.stack(faces)) for path, faces in sorted(photos.items())]
