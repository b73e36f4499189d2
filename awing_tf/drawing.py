"""Landmark overlays on images: dots coloured by confidence, face boxes and head-pose axes
(OpenCV; no TensorFlow import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from awing_tf.inference.head_pose import HeadPose

_SHIFT = 4  # OpenCV sub-pixel bits: points are drawn at 1/16 pixel precision


def confidence_colors(confidences: np.ndarray) -> np.ndarray:
    """``confidences (K,)`` in [0, 1] -> RGB colours ``(K, 3)`` uint8: red at 0, yellow at
    0.5, green at 1 (a landmark's colour says how sure the model is of it)."""
    c = np.clip(np.nan_to_num(np.asarray(confidences, np.float64)), 0.0, 1.0)
    red = np.where(c < 0.5, 1.0, 2.0 * (1.0 - c))
    green = np.where(c < 0.5, 2.0 * c, 1.0)
    return np.round(255 * np.stack([red, green, np.zeros_like(c)], axis=-1)).astype(np.uint8)


def draw_landmarks(image_rgb: np.ndarray, landmarks: np.ndarray,
                   box: np.ndarray | None = None, color=(0, 255, 0),
                   confidences: np.ndarray | None = None) -> np.ndarray:
    """A copy of ``image_rgb (H, W, 3) uint8`` with ``landmarks (K, 2)`` drawn as dots at
    their sub-pixel positions (non-finite points skipped) and the face ``box``
    ``[x1, y1, x2, y2]`` if given. With ``confidences (K,)`` each dot is coloured by its
    confidence (:func:`confidence_colors`) instead of ``color``."""
    import cv2

    out = np.ascontiguousarray(image_rgb.copy())
    radius = max(1, int(round(max(out.shape[:2]) / 250)))
    scale = 1 << _SHIFT
    points = np.asarray(landmarks, np.float64)
    colors = ([tuple(int(v) for v in c) for c in confidence_colors(confidences)]
              if confidences is not None else [tuple(color)] * len(points))
    for (x, y), c in zip(points, colors, strict=True):
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(out, (int(round(x * scale)), int(round(y * scale))), radius * scale,
                       c, -1, cv2.LINE_AA, shift=_SHIFT)
    if box is not None:
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), (255, 128, 0), max(1, radius // 2))
    return out


# --- head-pose axes ---

_AXIS_COLORS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))  # x red, y green, z blue (RGB)


def draw_pose_axes(image_rgb: np.ndarray, pose: HeadPose, points: np.ndarray | None = None,
                   length: float = 70.0) -> np.ndarray:
    """A copy of ``image_rgb (H, W, 3) uint8`` with the head's axes drawn as arrows.

    ``pose`` is a :class:`~awing_tf.inference.head_pose.HeadPose`; its rotation, translation
    and camera matrix project (``cv2.projectPoints``) three arrows ``length`` millimetres of
    the face model long: x (red) toward the image-right side of the face, y (green) down the
    face, z (blue) out of the face (the way it looks). The arrows start at the model's nose
    tip; ``points`` moves them: ``(K, 2)`` landmarks -> the nose-tip landmark (point 30) when
    K is 68, else the landmarks' mean; ``(2,)`` -> that pixel.
    """
    import cv2

    axes = np.array([[0.0, 0.0, 0.0], [length, 0.0, 0.0], [0.0, length, 0.0],
                     [0.0, 0.0, -length]])
    proj = cv2.projectPoints(axes, np.asarray(pose.rotation_vector, np.float64),
                             np.asarray(pose.translation_vector, np.float64),
                             np.asarray(pose.camera_matrix, np.float64), None)[0].reshape(4, 2)
    if points is not None:
        p = np.asarray(points, np.float64)
        if p.shape == (2,):
            origin = p
        elif p.ndim == 2 and p.shape[1] == 2 and len(p):
            origin = p[30] if len(p) == 68 else np.nanmean(p, axis=0)
        else:
            raise ValueError(f"points must be landmarks (K, 2) or an origin (2,), got {p.shape}")
        if not np.all(np.isfinite(origin)):
            raise ValueError(f"the axes' origin {origin.tolist()} is not finite")
        proj = proj + (origin - proj[0])
    if not np.all(np.isfinite(proj)):
        raise ValueError("the pose's axes project to non-finite pixels")
    out = np.ascontiguousarray(image_rgb.copy())
    thickness = max(1, int(round(max(out.shape[:2]) / 200)))
    scale = 1 << _SHIFT
    start = tuple(int(round(v * scale)) for v in proj[0])
    for end, color in zip(proj[1:], _AXIS_COLORS, strict=True):
        cv2.arrowedLine(out, start, tuple(int(round(v * scale)) for v in end), color,
                        thickness, cv2.LINE_AA, _SHIFT, 0.15)
    return out
