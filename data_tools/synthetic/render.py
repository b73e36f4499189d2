"""One random synthetic face: sampled expression and pose, background, face, lighting,
occluders, blur and noise, with its landmarks, visibility flags and a detector-like box.

Occluders (rectangles, ellipses) sometimes cover points: those get ``visible = 0`` with their
true coordinates kept; points outside the image are also ``visible = 0``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from data_tools.synthetic.drawing import draw_face
from data_tools.synthetic.geometry import Expression, FaceGeometry, Pose, project
from data_tools.synthetic.templates import TEMPLATES, canonical_landmarks


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """(size, size, 3) uint8: smooth random colour blobs or a gradient, plus random shapes."""
    if rng.random() < 0.5:
        small = rng.integers(0, 256, (rng.integers(2, 9), rng.integers(2, 9), 3), np.uint8)
        img = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    else:
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        ang = rng.uniform(0, 2 * math.pi)
        ramp = (np.arange(size) / max(size - 1, 1))
        t = (math.cos(ang) * ramp[None, :] + math.sin(ang) * ramp[:, None])
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        img = (a[None, None, :] + (b - a)[None, None, :] * t[:, :, None]).astype(np.uint8)
    for _ in range(rng.integers(0, 7)):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        p = rng.integers(-size // 4, size + size // 4, 4)
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(img, (int(p[0]), int(p[1])), (int(p[2]), int(p[3])), color, -1)
        elif kind == 1:
            cv2.circle(img, (int(p[0]), int(p[1])), int(rng.integers(3, size // 4)), color, -1)
        else:
            cv2.line(img, (int(p[0]), int(p[1])), (int(p[2]), int(p[3])), color,
                     int(rng.integers(1, 6)))
    return img


def _lighting(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multiplies ``img`` by a random linear light ramp (0.6 .. 1.3)."""
    size = img.shape[0]
    ang = rng.uniform(0, 2 * math.pi)
    r = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    t = math.cos(ang) * r[None, :] + math.sin(ang) * r[:, None]
    gain = (rng.uniform(0.9, 1.1) + rng.uniform(0.0, 0.6) * t)[:, :, None]
    return cv2.convertScaleAbs(img.astype(np.float32) * gain)


def _occlude(img: np.ndarray, pts: np.ndarray, pose: Pose, rng: np.random.Generator,
             visible: np.ndarray) -> None:
    """Draws 1-2 occluders near the face; sets ``visible[i] = 0`` for covered points."""
    size = img.shape[0]
    mask = np.zeros(img.shape[:2], np.uint8)
    for _ in range(rng.integers(1, 3)):
        c = pts[rng.integers(len(pts))] + rng.normal(0, 0.2 * pose.scale, 2)
        half = rng.uniform(0.15, 0.5, 2) * pose.scale
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        ci = (int(c[0]), int(c[1]))
        if rng.random() < 0.5:
            p0 = (int(c[0] - half[0]), int(c[1] - half[1]))
            p1 = (int(c[0] + half[0]), int(c[1] + half[1]))
            cv2.rectangle(img, p0, p1, color, -1)
            cv2.rectangle(mask, p0, p1, 255, -1)
        else:
            axes = (int(half[0]), int(half[1]))
            ang = float(rng.uniform(0, 180))
            cv2.ellipse(img, ci, axes, ang, 0, 360, color, -1)
            cv2.ellipse(mask, ci, axes, ang, 0, 360, 255, -1)
    xi = np.clip(np.round(pts[:, 0]).astype(int), 0, size - 1)
    yi = np.clip(np.round(pts[:, 1]).astype(int), 0, size - 1)
    visible[mask[yi, xi] > 0] = 0


def random_expression(rng: np.random.Generator) -> Expression:
    """A random expression: mouth sometimes open, slight smile and brow raise, blinks."""
    open_ = float(rng.uniform(0.0, 0.3)) if rng.random() < 0.4 else 0.0
    blink = rng.random() < 0.1
    eyes = rng.uniform(0.6, 1.3, 2) * (0.25 if blink else 1.0)
    return Expression(
        mouth_open=open_, smile=float(rng.uniform(-0.03, 0.08)),
        brow_raise=float(rng.uniform(-0.04, 0.1)),
        eye_open=(float(eyes[0]), float(eyes[1])),
        gaze=(float(rng.uniform(-0.02, 0.02)), float(rng.uniform(-0.1, 0.1))))


def random_pose(rng: np.random.Generator, size: int, max_pitch_degrees: float = 0.0) -> Pose:
    """A random pose in a ``size`` square image: yaw within 35 degrees, roll within 35, and
    pitch uniform within ``max_pitch_degrees`` (drawn after the others, only when > 0: with
    the default the random stream is the same as without pitch)."""
    if not math.isfinite(max_pitch_degrees) or not 0.0 <= max_pitch_degrees < 90.0:
        raise ValueError(f"max_pitch_degrees must be in [0, 90), got {max_pitch_degrees!r}")
    scale = size * rng.uniform(0.16, 0.26)
    center = size * (0.5 + rng.uniform(-0.1, 0.1, 2))
    yaw = math.radians(rng.uniform(-35, 35))
    roll = math.radians(float(np.clip(rng.normal(0, 12), -35, 35)))
    pitch = 0.0
    if max_pitch_degrees > 0:
        pitch = math.radians(rng.uniform(-max_pitch_degrees, max_pitch_degrees))
    return Pose(yaw=yaw, roll=roll, scale=float(scale),
                center=(float(center[0]), float(center[1]) + 0.05 * scale), pitch=pitch)


def detector_box(pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A detector-like square-ish box (4,) around (K, 2) ``pts`` with random jitter."""
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = float((hi - lo).max()) * rng.uniform(1.0, 1.15)
    c = (lo + hi) / 2 + rng.normal(0, 0.03 * side, 2)
    w, h = side * rng.uniform(0.95, 1.05), side * rng.uniform(0.95, 1.1)
    return np.asarray([c[0] - w / 2, c[1] - h / 2, c[0] + w / 2, c[1] + h / 2], np.float32)


def render_face(
    rng: np.random.Generator, scheme: str, image_size: int, max_pitch_degrees: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic face: ``(image (S, S, 3) uint8 BGR, landmarks (K, 2), visible (K,), box)``.

    The expression and pose are random (pitch within ``max_pitch_degrees``, see
    :func:`random_pose`).
    """
    canonical_landmarks(scheme)  # validates the scheme
    expr = random_expression(rng)
    pose = random_pose(rng, image_size, max_pitch_degrees)
    return _render_scene(rng, scheme, image_size, expr, pose, occluders=True)


def render_face_at(
    rng: np.random.Generator, scheme: str, image_size: int, pose: Pose,
    expr: Expression | None = None, occluders: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic face at a GIVEN ``pose``: the same scene as :func:`render_face` (a random
    expression when ``expr`` is None; occluders only when ``occluders``). Returns
    ``(image (S, S, 3) uint8 BGR, landmarks (K, 2), visible (K,), box (4,))``."""
    canonical_landmarks(scheme)
    if expr is None:
        expr = random_expression(rng)
    return _render_scene(rng, scheme, image_size, expr, pose, occluders)


def _render_scene(
    rng: np.random.Generator, scheme: str, image_size: int, expr: Expression, pose: Pose,
    occluders: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Background, face, lighting, occluders, blur and noise for one expression and pose."""
    g = FaceGeometry(expr)
    pts = project(TEMPLATES[scheme](g), pose)
    img = _background(rng, image_size)
    draw_face(img, g, pose, rng)
    img = _lighting(img, rng)
    visible = np.ones(len(pts), np.int64)
    if occluders and rng.random() < 0.35:
        _occlude(img, pts, pose, rng, visible)
    inside = (pts[:, 0] >= 0) & (pts[:, 1] >= 0) & (pts[:, 0] <= image_size - 1) & (
        pts[:, 1] <= image_size - 1)
    visible[~inside] = 0
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (3, 3), 0)
    noise = rng.integers(-6, 7, (image_size, image_size, 1), dtype=np.int16)
    img = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return img, pts.astype(np.float32), visible, detector_box(pts, rng)
