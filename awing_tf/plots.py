"""CED curves (matplotlib, Agg) and landmark overlays (OpenCV)."""

from __future__ import annotations

import os

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from awing_tf.metrics import auc, ced_curve  # noqa: E402


def plot_ced(curves: dict[str, np.ndarray], path: str, threshold: float = 0.1,
             title: str = "Cumulative error distribution") -> str:
    """One CED curve per entry of ``curves`` (name -> per-image NMEs as fractions), with the
    AUC in the legend; saved as PNG at ``path``."""
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=110)
    for name, nmes in curves.items():
        xs, ys = ced_curve(nmes, threshold)
        ax.plot(xs * 100, ys, label=f"{name} (AUC@{threshold:.0%} {auc(nmes, threshold):.4f})")
    ax.set_xlabel("NME (%)")
    ax.set_ylabel("Fraction of images")
    ax.set_xlim(0, threshold * 100)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_landmarks(image_rgb: np.ndarray, landmarks: np.ndarray,
                   box: np.ndarray | None = None, color=(0, 255, 0)) -> np.ndarray:
    """A copy of ``image_rgb (H, W, 3) uint8`` with ``landmarks (K, 2)`` drawn as dots (and
    the face ``box`` [x1, y1, x2, y2] if given)."""
    out = np.ascontiguousarray(image_rgb.copy())
    radius = max(1, int(round(max(out.shape[:2]) / 250)))
    for x, y in np.asarray(landmarks, np.float64):
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(out, (int(round(x)), int(round(y))), radius, color, -1, cv2.LINE_AA)
    if box is not None:
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), (255, 128, 0), max(1, radius // 2))
    return out
