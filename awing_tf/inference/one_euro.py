"""The One Euro filter (Casiez, Roussel and Vogel, CHI 2012) for landmark coordinates, in
NumPy.

Per coordinate, an exponential smoother whose cut-off frequency rises with speed: at rest
the cut-off is ``min_cutoff`` Hz (strong smoothing removes jitter), in motion it grows by
``beta`` per unit of speed (little smoothing, little lag)::

    alpha(fc, dt) = 1 / (1 + 1 / (2 pi fc dt))
    dx_hat = alpha(d_cutoff) * (x - x_hat_prev) / dt + (1 - alpha(d_cutoff)) * dx_hat_prev
    fc = min_cutoff + beta * |dx_hat|
    x_hat = alpha(fc) * x + (1 - alpha(fc)) * x_hat_prev

The first sample passes through (``x_hat = x``, ``dx_hat = 0``). Speeds are measured in
units of ``scale`` per second (the face's size in pixels, given per call), so the same
``beta`` works at any image resolution and face size, as MediaPipe scales its filter by the
face.
"""

from __future__ import annotations

import math

import numpy as np


def smoothing_factor(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    """``alpha = 1 / (1 + tau / dt)`` with ``tau = 1 / (2 pi cutoff)``."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One filter over an array of coordinates (any shape, e.g. landmarks ``(K, 2)``).

    Args:
      min_cutoff: cut-off frequency at rest, Hz (lower: smoother, more lag at slow speeds).
      beta: cut-off increase per unit of speed (``scale`` per second).
      d_cutoff: cut-off of the speed estimate, Hz.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0 Hz, got {value!r}")
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta!r}")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next sample passes through."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0) -> np.ndarray:
        """Filters the sample ``x`` taken at time ``t`` seconds; ``scale`` (> 0) is the
        unit of speed (e.g. the face's size in pixels). Returns the filtered ``x``
        (float64, same shape). A sample not after the previous one (``dt <= 0``) or of a
        different shape restarts the filter."""
        x = np.asarray(x, np.float64)
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        if self._x is None or self._x.shape != x.shape or t <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        dt = float(t) - self._t
        speed = (x - self._x) / dt / scale
        a_d = smoothing_factor(self.d_cutoff, dt)
        self._dx = a_d * speed + (1.0 - a_d) * self._dx
        a = smoothing_factor(self.min_cutoff + self.beta * np.abs(self._dx), dt)
        self._x = a * x + (1.0 - a) * self._x
        self._t = float(t)
        return self._x.copy()
