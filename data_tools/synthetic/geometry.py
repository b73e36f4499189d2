"""The canonical face: analytic feature curves in a face frame, and their projection to pixels.

The face frame has x to the right, y down, one unit = half the face width, and z a pseudo
depth toward the viewer. Every feature (jaw, brows, eyelids, nose, lips) is a curve mapping
parameters ``u`` in [0, 1] to (N, 3) points; the expression parameters (mouth opening,
smile, brow raise, eye openness, gaze) shape the curves. The curves are plain geometry, not
derived from any dataset. :func:`project` maps points to image pixels for one :class:`Pose`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


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
    """Yaw, roll and pitch in radians; ``scale`` = pixels per face unit; ``center`` in pixels.

    Signs (as seen in the image): positive ``yaw`` turns the face toward the image's right
    (the nose moves right); positive ``pitch`` turns the face up (the nose moves up, the chin
    comes forward); positive ``roll`` turns the face clockwise in the image (y points down).
    """

    yaw: float = 0.0
    roll: float = 0.0
    scale: float = 50.0
    center: tuple[float, float] = (128.0, 128.0)
    pitch: float = 0.0


def params(*values: float) -> np.ndarray:
    """Curve parameters ``values`` as a float64 array."""
    return np.asarray(values, np.float64)


def evenly(n: int) -> np.ndarray:
    """``n`` curve parameters evenly spaced over [0, 1], both ends included."""
    return np.linspace(0.0, 1.0, n)


def _depth(x: np.ndarray) -> np.ndarray:
    """Pseudo depth of the face surface (an ellipsoid-like bulge), (N,) -> (N,)."""
    return 0.6 * np.sqrt(np.clip(1.0 - x * x, 0.0, None))


def _xyz(x: np.ndarray, y: np.ndarray, extra_z: float | np.ndarray = 0.0) -> np.ndarray:
    """(N, 3) points at ``x, y`` on the face surface, raised by ``extra_z``."""
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
        """The brow's centre line."""
        x, y = self._brow_mid(side, u)
        return _xyz(x, y, 0.05)

    def brow_top(self, side: int, u: np.ndarray) -> np.ndarray:
        """The brow's upper edge."""
        x, y = self._brow_mid(side, u)
        return _xyz(x, y - self._brow_half_thickness(u), 0.05)

    def brow_bottom(self, side: int, u: np.ndarray) -> np.ndarray:
        """The brow's lower edge."""
        x, y = self._brow_mid(side, u)
        return _xyz(x, y + self._brow_half_thickness(u), 0.05)

    # --- eyes (u: outer corner 0 -> inner corner 1) ---
    def _eye_open(self, side: int) -> float:
        return self.e.eye_open[0 if side < 0 else 1]

    def eyelid_upper(self, side: int, u: np.ndarray) -> np.ndarray:
        """The upper lid's edge (its ends are the eye corners)."""
        x = side * (0.68 - 0.44 * u)
        y = -0.22 - 0.1 * self._eye_open(side) * np.sin(math.pi * u) ** 0.8
        return _xyz(x, y, -0.02)

    def eyelid_lower(self, side: int, u: np.ndarray) -> np.ndarray:
        """The lower lid's edge (its ends are the eye corners)."""
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
        """The upper lip's outer edge, with the Cupid's bow."""
        s = np.sin(math.pi * u)
        bow = 0.03 * np.exp(-(((u - 0.5) / 0.09) ** 2))
        y = self._lip_line(u) - 0.1 * s**0.7 + bow - 0.3 * self.e.mouth_open * 0.15 * s
        return _xyz(-0.42 + 0.84 * u, y, 0.08)

    def lip_outer_lower(self, u: np.ndarray) -> np.ndarray:
        """The lower lip's outer edge."""
        s = np.sin(math.pi * u)
        y = self._lip_line(u) + (0.12 + self.e.mouth_open) * s**0.8
        return _xyz(-0.42 + 0.84 * u, y, 0.08)

    def lip_inner_upper(self, u: np.ndarray) -> np.ndarray:
        """The upper lip's inner edge (the mouth opening's top)."""
        s = np.sin(math.pi * u)
        y = self._lip_line(u) - 0.015 * s - 0.3 * self.e.mouth_open * 0.15 * s
        return _xyz(-0.35 + 0.7 * u, y, 0.06)

    def lip_inner_lower(self, u: np.ndarray) -> np.ndarray:
        """The lower lip's inner edge (the mouth opening's bottom)."""
        s = np.sin(math.pi * u)
        y = self._lip_line(u) + (0.01 + 0.85 * self.e.mouth_open) * s
        return _xyz(-0.35 + 0.7 * u, y, 0.06)


def project(pts: np.ndarray, pose: Pose) -> np.ndarray:
    """(N, 3) canonical -> (N, 2) image pixels: pitch, yaw, orthographic projection, roll,
    scale, translation.

    Pitch rotates about the face's x axis first (``y' = y cos p - z sin p``,
    ``z' = y sin p + z cos p``), then yaw about the vertical axis (``x' = x cos a + z' sin a``),
    the depth is dropped, and roll rotates the image plane. Pitch 0 skips its rotation: a pose
    without pitch gives bit-identical pixels to the yaw-and-roll formula alone.
    """
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    if pose.pitch != 0.0:
        cp, sp = math.cos(pose.pitch), math.sin(pose.pitch)
        y, z = y * cp - z * sp, y * sp + z * cp
    cy, sy = math.cos(pose.yaw), math.sin(pose.yaw)
    x = x * cy + z * sy
    cr, sr = math.cos(pose.roll), math.sin(pose.roll)
    px = pose.scale * (cr * x - sr * y) + pose.center[0]
    py = pose.scale * (sr * x + cr * y) + pose.center[1]
    return np.stack([px, py], axis=-1)
