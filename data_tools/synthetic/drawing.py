"""Drawing a face with OpenCV from the same curves its landmarks lie on.

The drawing uses dense samplings of the feature curves that include every landmark's
parameter as a vertex, projected with the landmarks' own pose, so every landmark lies exactly
on the drawn feature. Coordinates are drawn with sub-pixel precision.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from data_tools.synthetic.geometry import FaceGeometry, Pose, evenly, params, project

_SHIFT = 4  # OpenCV sub-pixel bits for drawing
_SCALE = float(1 << _SHIFT)
_DENSE = 61  # samples per feature curve: u = i/60 contains every landmark parameter used
_JAW_DENSE = 65  # u = i/64 contains i/16 (300W) and i/32 (WFLW)
_SKIN_TONES = ((205, 222, 250), (170, 195, 235), (140, 170, 215), (100, 135, 190),
               (70, 100, 150), (50, 70, 110), (180, 200, 225))
_IRIS_COLORS = ((30, 50, 90), (120, 90, 40), (60, 110, 60), (40, 40, 40), (20, 60, 110))


def _fix(pts: np.ndarray) -> np.ndarray:
    """(N, 2) float pixels -> (N, 1, 2) int32 with ``_SHIFT`` fractional bits for OpenCV."""
    return np.round(pts * _SCALE).astype(np.int32).reshape(-1, 1, 2)


def _poly(img: np.ndarray, pts: np.ndarray, color: tuple, closed: bool = False,
          thickness: int = -1) -> None:
    """Fills the polygon ``pts`` (N, 2), or draws it as a line ``thickness`` pixels wide."""
    if thickness < 0:
        cv2.fillPoly(img, [_fix(pts)], color, cv2.LINE_AA, _SHIFT)
    else:
        cv2.polylines(img, [_fix(pts)], closed, color, thickness, cv2.LINE_AA, _SHIFT)


def _shade(color: tuple, factor: float) -> tuple:
    """``color`` scaled by ``factor`` (each channel at most 255)."""
    return tuple(float(min(255.0, c * factor)) for c in color)


def _draw_eye(img: np.ndarray, g: FaceGeometry, side: int, pose: Pose,
              iris_color: tuple, lid_color: tuple, lid_px: int) -> None:
    """Eye white polygon, iris + pupil clipped to it, eyelid lines."""
    u = evenly(_DENSE)
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
    axes = (max(r * math.cos(pose.yaw), 1.0), r * math.cos(pose.pitch))  # foreshortened
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
    jaw = project(g.jaw(evenly(_JAW_DENSE)), pose)
    head = np.concatenate([jaw, project(g.forehead(evenly(33))[1:-1], pose)])
    if rng.random() < 0.8:  # neck
        k = len(jaw)
        a, b = jaw[int(k * 0.3)], jaw[int(k * 0.7)]
        down = (b - a)[::-1] * np.array([-1.0, 1.0]) * 1.5
        _poly(img, np.stack([a, b, b + down, a + down]), _shade(skin, 0.8))
    if rng.random() < 0.7:  # hair
        hair = _shade(tuple(float(c) for c in rng.integers(0, 120, 3)), 1.0)
        hu = evenly(33)
        top = g.forehead(hu) * np.array([1.12, 1.0, 1.0]) + np.array([0.0, -0.1, 0.0])
        _poly(img, project(top, pose), hair)
    _poly(img, head, skin)
    _poly(img, jaw, _shade(skin, 0.7), thickness=px)
    brow_color = _shade(tuple(float(c) for c in rng.integers(10, 70, 3)), 1.0)
    u = evenly(_DENSE)
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
        c = project(g.nose_bottom(params(un)) + np.array([0.0, -0.03, 0.0]), pose)[0]
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
