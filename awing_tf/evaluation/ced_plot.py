"""Cumulative error distribution curves (matplotlib, Agg backend)."""

from __future__ import annotations

import os

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
