"""Procedural face-like images whose landmarks are exact by construction.

A canonical frontal face is described by analytic curves in a face frame (x right, y down,
one unit = half the face width; z = a pseudo depth toward the viewer): the jaw arc, the brow
bands, the eyelid curves, the nose bridge and nose bottom, and the outer and inner lip curves.
The curves are NOT derived from any dataset; they are plain geometry with expression
parameters (mouth opening, smile, brow raise, eye openness, gaze).

Every landmark of a scheme is one parameter value on one of those curves. The drawing uses
dense samplings of the same curves that include every landmark's parameter as a vertex, and
both go through one point-wise projection (yaw as a rotation about the vertical axis with an
orthographic projection: horizontal compression plus a shift of the features that stand out,
then in-plane rotation, scale and translation), so every landmark lies exactly on the drawn
feature. Schemes: ``300w68``, ``wflw98``, ``cofw29``; ``lsp14`` raises ``ValueError``.

Occluders (rectangles, ellipses) sometimes cover points: those get ``visible = 0`` with their
true coordinates kept; points outside the image are also ``visible = 0``.

    python -m data_tools.synthetic --num=1000 --scheme=300w68 --output=/tmp/synth \
        --image_size=256 --seed=0 [--num_shards=4] [--split=train=0.9,val=0.1]
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterator

import cv2
import numpy as np
from absl import app, flags, logging

from awing_tf.schemes import get_scheme
from data_tools import common
from data_tools.common import ConversionSummary
from data_tools.records import FaceRecord

SUPPORTED_SCHEMES = ("300w68", "wflw98", "cofw29")
_SHIFT = 4  # OpenCV sub-pixel bits for drawing
_SCALE = float(1 << _SHIFT)
_DENSE = 61  # samples per feature curve: u = i/60 contains every landmark parameter used
_JAW_DENSE = 65  # u = i/64 contains i/16 (300W) and i/32 (WFLW)

Curve = Callable[[np.ndarray], np.ndarray]  # (N,) parameters in [0, 1] -> (N, 3) x, y, z


@dataclasses.dataclass(frozen=True)
class Expression:
    """Expression parameters in face units."""

    mouth_open: float = 0.0
    smile: float = 0.0
    brow_raise: float = 0.0
    eye_open: tuple[float, float] = (1.0, 1.0)  # image-left eye, image-right eye
    gaze: tuple[float, float] = (0.0, 0.0)


@dataclasses.dataclass(frozen=True)
class Pose:
    """Yaw and roll in radians; ``scale`` = pixels per face unit; ``center`` in pixels."""

    yaw: float = 0.0
    roll: float = 0.0
    scale: float = 50.0
    center: tuple[float, float] = (128.0, 128.0)


# === Canonical geometry ========================================================================
def _depth(x: np.ndarray) -> np.ndarray:
    """Pseudo depth of the face surface (an ellipsoid-like bulge), (N,) -> (N,)."""
    return 0.6 * np.sqrt(np.clip(1.0 - x * x, 0.0, None))


def _xyz(x: np.ndarray, y: np.ndarray, extra_z: float | np.ndarray = 0.0) -> np.ndarray:
    return np.stack([x, y, _depth(x) + extra_z], axis=-1)


class FaceGeometry:
    """The canonical curves of one face with one expression. All curves map u -> (N, 3)."""

    def __init__(self, expr: Expression):
        self.e = expr

    # --- outline ---
    def jaw(self, u: np.ndarray) -> np.ndarray:
        """Image-left temple (u=0) around the chin (u=0.5) to the image-right temple (u=1)."""
        t = math.pi * (1.0 - u)
        s = np.sin(t)
        x = np.cos(t) * (1.0 - 0.12 * s)
        y = -0.2 + 1.4 * s
        return _xyz(x, y)

    def forehead(self, u: np.ndarray) -> np.ndarray:
        """Image-right temple (u=0) over the top of the head to the image-left temple (u=1)."""
        t = math.pi * u
        return _xyz(np.cos(t), -0.2 - 1.0 * np.sin(t))

    # --- brows (side -1 = image-left, +1 = image-right; u: outer end 0 -> inner end 1) ---
    def _brow_mid(self, side: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = side * (0.85 - 0.68 * u)
        y = -0.58 - self.e.brow_raise - 0.1 * np.sin(math.pi * (0.15 + 0.75 * u))
        return x, y

    def _brow_half_thickness(self, u: np.ndarray) -> np.ndarray:
        return 0.025 + 0.025 * u

    def brow(self, side: int, u: np.ndarray) -> np.ndarray:
        x, y = self._brow_mid(side, u)
        return _xyz(x, y, 0.05)

    def brow_top(self, side: int, u: np.ndarray) -> np.ndarray:
        x, y = self._brow_mid(side, u)
        return _xyz(x, y - self._brow_half_thickness(u), 0.05)

    def brow_bottom(self, side: int, u: np.ndarray) -> np.ndarray:
        x, y = self._brow_mid(side, u)
        return _xyz(x, y + self._brow_half_thickness(u), 0.05)

    # --- eyes (u: outer corner 0 -> inner corner 1) ---
    def _eye_open(self, side: int) -> float:
        return self.e.eye_open[0 if side < 0 else 1]

    def eyelid_upper(self, side: int, u: np.ndarray) -> np.ndarray:
        x = side * (0.68 - 0.44 * u)
        y = -0.22 - 0.1 * self._eye_open(side) * np.sin(math.pi * u) ** 0.8
        return _xyz(x, y, -0.02)

    def eyelid_lower(self, side: int, u: np.ndarray) -> np.ndarray:
        x = side * (0.68 - 0.44 * u)
        y = -0.22 + 0.065 * self._eye_open(side) * np.sin(math.pi * u) ** 0.9
        return _xyz(x, y, -0.02)

    def iris_center(self, side: int) -> np.ndarray:
        """(1, 3): the mean of the 300W eye points plus the gaze offset."""
        u = np.array([1 / 3, 2 / 3])
        pts = np.concatenate([self.eyelid_upper(side, np.array([0.0, 1.0])),
                              self.eyelid_upper(side, u), self.eyelid_lower(side, u)])
        c = pts.mean(axis=0, keepdims=True)
        c[0, 0] += self.e.gaze[0]
        c[0, 1] += self.e.gaze[1] * self._eye_open(side)
        return c

    # --- nose ---
    def nose_bridge(self, u: np.ndarray) -> np.ndarray:
        """Between the eyes (u=0) to the tip (u=1)."""
        return _xyz(np.zeros_like(u), -0.2 + 0.46 * u, 0.05 + 0.4 * u)

    def nose_bottom(self, u: np.ndarray) -> np.ndarray:
        """Image-left nose wing (u=0) through the columella (0.5) to the right wing (1)."""
        x = -0.21 + 0.42 * u
        return _xyz(x, 0.34 + 0.05 * np.sin(math.pi * u), 0.12 + 0.2 * np.sin(math.pi * u))

    # --- lips (u: image-left corner 0 -> image-right corner 1) ---
    def _lip_line(self, u: np.ndarray) -> np.ndarray:
        return 0.74 - self.e.smile * (1.0 - np.sin(math.pi * u))

    def lip_outer_upper(self, u: np.ndarray) -> np.ndarray:
        s = np.sin(math.pi * u)
        bow = 0.03 * np.exp(-(((u - 0.5) / 0.09) ** 2))
        y = self._lip_line(u) - 0.1 * s**0.7 + bow - 0.3 * self.e.mouth_open * 0.15 * s
        return _xyz(-0.42 + 0.84 * u, y, 0.08)

    def lip_outer_lower(self, u: np.ndarray) -> np.ndarray:
        s = np.sin(math.pi * u)
        y = self._lip_line(u) + (0.12 + self.e.mouth_open) * s**0.8
        return _xyz(-0.42 + 0.84 * u, y, 0.08)

    def lip_inner_upper(self, u: np.ndarray) -> np.ndarray:
        s = np.sin(math.pi * u)
        y = self._lip_line(u) - 0.015 * s - 0.3 * self.e.mouth_open * 0.15 * s
        return _xyz(-0.35 + 0.7 * u, y, 0.06)

    def lip_inner_lower(self, u: np.ndarray) -> np.ndarray:
        s = np.sin(math.pi * u)
        y = self._lip_line(u) + (0.01 + 0.85 * self.e.mouth_open) * s
        return _xyz(-0.35 + 0.7 * u, y, 0.06)


# === Scheme templates ==========================================================================
def _u(*values: float) -> np.ndarray:
    return np.asarray(values, np.float64)


def _lin(n: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, n)


def template_300w(g: FaceGeometry) -> np.ndarray:
    """(68, 3) canonical 300W points."""
    third = _u(1 / 3, 2 / 3)
    parts = [
        g.jaw(_lin(17)),
        g.brow(-1, _lin(5)), g.brow(1, _lin(5)[::-1]),
        g.nose_bridge(_lin(4)), g.nose_bottom(_lin(5)),
        g.eyelid_upper(-1, _u(0.0)), g.eyelid_upper(-1, third), g.eyelid_upper(-1, _u(1.0)),
        g.eyelid_lower(-1, third[::-1]),
        g.eyelid_upper(1, _u(1.0)), g.eyelid_upper(1, third[::-1]), g.eyelid_upper(1, _u(0.0)),
        g.eyelid_lower(1, third),
        g.lip_outer_upper(_lin(7)), g.lip_outer_lower(_lin(7)[1:-1][::-1]),
        g.lip_inner_upper(_lin(5)), g.lip_inner_lower(_lin(5)[1:-1][::-1]),
    ]
    return np.concatenate(parts)


def template_wflw(g: FaceGeometry) -> np.ndarray:
    """(98, 3) canonical WFLW points."""
    q = _u(0.25, 0.5, 0.75)
    fifths = _u(0.8, 0.6, 0.4, 0.2)
    parts = [
        g.jaw(_lin(33)),
        g.brow_top(-1, _lin(5)), g.brow_bottom(-1, fifths),
        g.brow_top(1, _lin(5)[::-1]), g.brow_bottom(1, fifths[::-1]),
        g.nose_bridge(_lin(4)), g.nose_bottom(_lin(5)),
        g.eyelid_upper(-1, _u(0.0)), g.eyelid_upper(-1, q), g.eyelid_upper(-1, _u(1.0)),
        g.eyelid_lower(-1, q[::-1]),
        g.eyelid_upper(1, _u(1.0)), g.eyelid_upper(1, q[::-1]), g.eyelid_upper(1, _u(0.0)),
        g.eyelid_lower(1, q),
        g.lip_outer_upper(_lin(7)), g.lip_outer_lower(_lin(7)[1:-1][::-1]),
        g.lip_inner_upper(_lin(5)), g.lip_inner_lower(_lin(5)[1:-1][::-1]),
        g.iris_center(-1), g.iris_center(1),
    ]
    return np.concatenate(parts)


def template_cofw(g: FaceGeometry) -> np.ndarray:
    """(29, 3) canonical COFW points (order in ``awing_tf.schemes``)."""
    h = _u(0.5)
    parts = [
        g.brow(-1, _u(0.0)), g.brow(1, _u(0.0)), g.brow(-1, _u(1.0)), g.brow(1, _u(1.0)),
        g.brow_top(-1, h), g.brow_bottom(-1, h), g.brow_top(1, h), g.brow_bottom(1, h),
        g.eyelid_upper(-1, _u(0.0)), g.eyelid_upper(1, _u(0.0)),
        g.eyelid_upper(-1, _u(1.0)), g.eyelid_upper(1, _u(1.0)),
        g.eyelid_upper(-1, h), g.eyelid_lower(-1, h), g.eyelid_upper(1, h), g.eyelid_lower(1, h),
        g.iris_center(-1), g.iris_center(1),
        g.nose_bottom(_u(0.0)), g.nose_bottom(_u(1.0)), g.nose_bridge(_u(1.0)),
        g.nose_bottom(h),
        g.lip_outer_upper(_u(0.0)), g.lip_outer_upper(_u(1.0)),
        g.lip_outer_upper(h), g.lip_inner_upper(h), g.lip_inner_lower(h), g.lip_outer_lower(h),
        g.jaw(h),
    ]
    return np.concatenate(parts)


TEMPLATES: dict[str, Callable[[FaceGeometry], np.ndarray]] = {
    "300w68": template_300w, "wflw98": template_wflw, "cofw29": template_cofw}


def canonical_landmarks(scheme: str, expr: Expression | None = None) -> np.ndarray:
    """(K, 3) canonical points of ``scheme`` for ``expr`` (neutral when None)."""
    if scheme not in TEMPLATES:
        raise ValueError(
            f"synthetic faces support schemes {SUPPORTED_SCHEMES}, got {scheme!r} "
            "(lsp14 is a body-joint layout: there is no synthetic generator for it)")
    pts = TEMPLATES[scheme](FaceGeometry(expr or Expression()))
    k = get_scheme(scheme).num_points
    if pts.shape != (k, 3):
        raise RuntimeError(f"template {scheme} built {pts.shape}, expected ({k}, 3)")
    return pts


# === Projection ================================================================================
def project(pts: np.ndarray, pose: Pose) -> np.ndarray:
    """(N, 3) canonical -> (N, 2) image pixels: yaw (orthographic), roll, scale, translation."""
    cy, sy = math.cos(pose.yaw), math.sin(pose.yaw)
    x = pts[:, 0] * cy + pts[:, 2] * sy
    y = pts[:, 1]
    cr, sr = math.cos(pose.roll), math.sin(pose.roll)
    px = pose.scale * (cr * x - sr * y) + pose.center[0]
    py = pose.scale * (sr * x + cr * y) + pose.center[1]
    return np.stack([px, py], axis=-1)


# === Drawing ===================================================================================
def _fix(pts: np.ndarray) -> np.ndarray:
    """(N, 2) float pixels -> (N, 1, 2) int32 with ``_SHIFT`` fractional bits for OpenCV."""
    return np.round(pts * _SCALE).astype(np.int32).reshape(-1, 1, 2)


def _poly(img: np.ndarray, pts: np.ndarray, color: tuple, closed: bool = False,
          thickness: int = -1) -> None:
    if thickness < 0:
        cv2.fillPoly(img, [_fix(pts)], color, cv2.LINE_AA, _SHIFT)
    else:
        cv2.polylines(img, [_fix(pts)], closed, color, thickness, cv2.LINE_AA, _SHIFT)


def _shade(color: tuple, factor: float) -> tuple:
    return tuple(float(min(255.0, c * factor)) for c in color)


_SKIN_TONES = ((205, 222, 250), (170, 195, 235), (140, 170, 215), (100, 135, 190),
               (70, 100, 150), (50, 70, 110), (180, 200, 225))
_IRIS_COLORS = ((30, 50, 90), (120, 90, 40), (60, 110, 60), (40, 40, 40), (20, 60, 110))


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


def _draw_eye(img: np.ndarray, g: FaceGeometry, side: int, pose: Pose,
              iris_color: tuple, lid_color: tuple, lid_px: int) -> None:
    """Eye white polygon, iris + pupil clipped to it, eyelid lines."""
    u = _lin(_DENSE)
    upper = project(g.eyelid_upper(side, u), pose)
    lower = project(g.eyelid_lower(side, u), pose)
    outline = np.concatenate([upper, lower[::-1]])
    x0, y0 = np.floor(outline.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + 2
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    roi = img[y0:y1, x0:x1]
    local = outline - np.array([x0, y0], np.float64)
    mask = np.zeros(roi.shape[:2], np.uint8)
    cv2.fillPoly(mask, [_fix(local)], 255, cv2.LINE_8, _SHIFT)
    patch = roi.copy()
    _poly(patch, local, (235, 240, 240))
    c = project(g.iris_center(side), pose)[0] - np.array([x0, y0])
    r = 0.085 * pose.scale
    axes = (max(r * math.cos(pose.yaw), 1.0), r)
    angle = math.degrees(pose.roll)
    center = tuple(int(v) for v in np.round(c * _SCALE))
    cv2.ellipse(patch, center, tuple(int(a * _SCALE) for a in axes), angle, 0, 360,
                iris_color, -1, cv2.LINE_AA, _SHIFT)
    cv2.ellipse(patch, center, tuple(int(a * 0.5 * _SCALE) for a in axes), angle, 0, 360,
                (15, 15, 15), -1, cv2.LINE_AA, _SHIFT)
    np.copyto(roi, patch, where=mask[:, :, None] > 0)
    _poly(img, upper, lid_color, thickness=lid_px + 1)
    _poly(img, lower, lid_color, thickness=max(lid_px - 1, 1))


def draw_face(img: np.ndarray, g: FaceGeometry, pose: Pose, rng: np.random.Generator) -> None:
    """Draws the face of geometry ``g`` under ``pose`` into ``img`` (in place)."""
    skin = _shade(_SKIN_TONES[rng.integers(len(_SKIN_TONES))], rng.uniform(0.85, 1.1))
    px = max(1, int(round(pose.scale * 0.025)))
    jaw = project(g.jaw(_lin(_JAW_DENSE)), pose)
    head = np.concatenate([jaw, project(g.forehead(_lin(33))[1:-1], pose)])
    if rng.random() < 0.8:  # neck
        k = len(jaw)
        a, b = jaw[int(k * 0.3)], jaw[int(k * 0.7)]
        down = (b - a)[::-1] * np.array([-1.0, 1.0]) * 1.5
        _poly(img, np.stack([a, b, b + down, a + down]), _shade(skin, 0.8))
    if rng.random() < 0.7:  # hair
        hair = _shade(tuple(float(c) for c in rng.integers(0, 120, 3)), 1.0)
        hu = _lin(33)
        top = g.forehead(hu) * np.array([1.12, 1.0, 1.0]) + np.array([0.0, -0.1, 0.0])
        _poly(img, project(top, pose), hair)
    _poly(img, head, skin)
    _poly(img, jaw, _shade(skin, 0.7), thickness=px)
    brow_color = _shade(tuple(float(c) for c in rng.integers(10, 70, 3)), 1.0)
    u = _lin(_DENSE)
    for side in (-1, 1):
        band = np.concatenate([project(g.brow_top(side, u), pose),
                               project(g.brow_bottom(side, u)[::-1], pose)])
        _poly(img, band, brow_color)
        _poly(img, project(g.brow(side, u), pose), brow_color, thickness=px)
    iris = _IRIS_COLORS[rng.integers(len(_IRIS_COLORS))]
    for side in (-1, 1):
        _draw_eye(img, g, side, pose, iris, (25, 25, 35), px)
    nose_color = _shade(skin, 0.6)
    _poly(img, project(g.nose_bridge(u), pose), _shade(skin, 0.8), thickness=px)
    _poly(img, project(g.nose_bottom(u), pose), nose_color, thickness=px)
    for un in (0.22, 0.78):
        c = project(g.nose_bottom(_u(un)) + np.array([0.0, -0.03, 0.0]), pose)[0]
        cv2.circle(img, tuple(int(v) for v in np.round(c * _SCALE)),
                   int(0.035 * pose.scale * _SCALE), _shade(skin, 0.45), -1, cv2.LINE_AA, _SHIFT)
    lip = _shade((90, 90, 190), rng.uniform(0.6, 1.1))
    outer = np.concatenate([project(g.lip_outer_upper(u), pose),
                            project(g.lip_outer_lower(u)[::-1], pose)])
    _poly(img, outer, lip)
    inner_up = project(g.lip_inner_upper(u), pose)
    inner = np.concatenate([inner_up, project(g.lip_inner_lower(u)[::-1], pose)])
    _poly(img, inner, (40, 30, 60))
    _poly(img, inner_up, (40, 30, 60), thickness=px)


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


# === Sampling ==================================================================================
def random_expression(rng: np.random.Generator) -> Expression:
    open_ = float(rng.uniform(0.0, 0.3)) if rng.random() < 0.4 else 0.0
    blink = rng.random() < 0.1
    eyes = rng.uniform(0.6, 1.3, 2) * (0.25 if blink else 1.0)
    return Expression(
        mouth_open=open_, smile=float(rng.uniform(-0.03, 0.08)),
        brow_raise=float(rng.uniform(-0.04, 0.1)),
        eye_open=(float(eyes[0]), float(eyes[1])),
        gaze=(float(rng.uniform(-0.02, 0.02)), float(rng.uniform(-0.1, 0.1))))


def random_pose(rng: np.random.Generator, size: int) -> Pose:
    scale = size * rng.uniform(0.16, 0.26)
    center = size * (0.5 + rng.uniform(-0.1, 0.1, 2))
    return Pose(yaw=math.radians(rng.uniform(-35, 35)),
                roll=math.radians(float(np.clip(rng.normal(0, 12), -35, 35))),
                scale=float(scale), center=(float(center[0]), float(center[1]) + 0.05 * scale))


def detector_box(pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A detector-like square-ish box (4,) around (K, 2) ``pts`` with random jitter."""
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = float((hi - lo).max()) * rng.uniform(1.0, 1.15)
    c = (lo + hi) / 2 + rng.normal(0, 0.03 * side, 2)
    w, h = side * rng.uniform(0.95, 1.05), side * rng.uniform(0.95, 1.1)
    return np.asarray([c[0] - w / 2, c[1] - h / 2, c[0] + w / 2, c[1] + h / 2], np.float32)


def render_face(
    rng: np.random.Generator, scheme: str, image_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic face: ``(image (S, S, 3) uint8 BGR, landmarks (K, 2), visible (K,), box)``."""
    canonical_landmarks(scheme)  # validates the scheme
    expr = random_expression(rng)
    g = FaceGeometry(expr)
    pose = random_pose(rng, image_size)
    pts = project(TEMPLATES[scheme](g), pose)
    img = _background(rng, image_size)
    draw_face(img, g, pose, rng)
    img = _lighting(img, rng)
    visible = np.ones(len(pts), np.int64)
    if rng.random() < 0.35:
        _occlude(img, pts, pose, rng, visible)
    inside = (pts[:, 0] >= 0) & (pts[:, 1] >= 0) & (pts[:, 0] <= image_size - 1) & (
        pts[:, 1] <= image_size - 1)
    visible[~inside] = 0
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (3, 3), 0)
    noise = rng.integers(-6, 7, (image_size, image_size, 1), dtype=np.int16)
    img = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return img, pts.astype(np.float32), visible, detector_box(pts, rng)


def generate_records(
    num: int, scheme: str = "300w68", image_size: int = 256, seed: int = 0
) -> Iterator[FaceRecord]:
    """``num`` synthetic FaceRecords (JPEG, landmarks in pixels). Deterministic per seed.

    Face ``i`` uses its own generator seeded by ``(seed, i)``: the same face comes out whatever
    ``num`` is.
    """
    if not isinstance(num, int) or num < 0:
        raise ValueError(f"num must be a non-negative int, got {num!r}")
    if not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"image_size must be an int >= 32, got {image_size!r}")
    canonical_landmarks(scheme)
    for i in range(num):
        rng = np.random.default_rng([seed, i])
        img, pts, vis, box = render_face(rng, scheme, image_size)
        quality = int(rng.integers(75, 96))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        yield FaceRecord(image_bytes=buf.tobytes(), source_id=f"synthetic/{seed}/{i:07d}",
                         height=image_size, width=image_size, landmarks=pts, scheme=scheme,
                         bbox=box, visible=vis)


def write_synthetic(
    output_prefix: str,
    num: int,
    scheme: str = "300w68",
    image_size: int = 256,
    num_shards: int = 1,
    seed: int = 0,
    split: str | dict[str, float] | None = None,
) -> ConversionSummary:
    """Writes ``num`` synthetic faces to TFRecord shards (split as in the converters)."""
    return common.write_items(generate_records(num, scheme, image_size, seed), output_prefix,
                              scheme, num_shards, split, seed, total=num, desc="synthetic")


def contact_sheet(num: int = 16, scheme: str = "300w68", image_size: int = 256,
                  seed: int = 0, cols: int = 4) -> np.ndarray:
    """A grid image of ``num`` faces with their landmarks dotted (green visible, red not)."""
    tiles = []
    for rec in generate_records(num, scheme, image_size, seed):
        img = cv2.imdecode(np.frombuffer(rec.image_bytes, np.uint8), cv2.IMREAD_COLOR)
        for (x, y), v in zip(rec.landmarks, rec.visible, strict=True):
            cv2.circle(img, (int(round(x)), int(round(y))), 1, (0, 255, 0) if v else (0, 0, 255),
                       -1)
        x1, y1, x2, y2 = (int(round(v)) for v in rec.bbox)
        cv2.rectangle(img, (x1, y1), (x2, y2), (255, 200, 0), 1)
        tiles.append(img)
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i : i + cols], axis=1) for i in range(0, len(tiles), cols)]
    return np.concatenate(rows, axis=0)


def define_flags() -> None:
    flags.DEFINE_string("output", None, "Output prefix of the TFRecord shards.", required=True)
    flags.DEFINE_integer("num", 1000, "Number of faces.", lower_bound=0)
    flags.DEFINE_enum("scheme", "300w68", list(SUPPORTED_SCHEMES), "Landmark scheme.")
    flags.DEFINE_integer("image_size", 256, "Square image side in pixels.", lower_bound=32)
    flags.DEFINE_integer("num_shards", 1, "Number of shards per split.", lower_bound=1)
    flags.DEFINE_integer("seed", 0, "Random seed (the output is deterministic given it).")
    flags.DEFINE_string("split", None, "Optional split fractions, e.g. 'train=0.9,val=0.1'.")
    flags.DEFINE_string("sheet", None, "Also write a contact sheet PNG of 16 faces here.")


def main(argv: list[str]) -> None:
    del argv
    f = flags.FLAGS
    if f.sheet:
        os.makedirs(os.path.dirname(os.path.abspath(f.sheet)), exist_ok=True)
        if not cv2.imwrite(f.sheet, contact_sheet(16, f.scheme, f.image_size, f.seed)):
            raise app.UsageError(f"--sheet {f.sheet!r}: could not write the PNG there")
        logging.info("contact sheet written to %s", f.sheet)
    write_synthetic(f.output, f.num, f.scheme, f.image_size, f.num_shards, f.seed, f.split)


if __name__ == "__main__":
    define_flags()
    app.run(main)
