"""Face-alignment metrics: NME (eq. 7), failure rate, CED and AUC (Sec. 7.2).

Pure NumPy functions of landmarks and per-image errors (no TensorFlow import);
``awing_tf.training.nme_metric.NormalizedMeanError`` is the stateful Keras metric on
heatmaps for ``model.compile(metrics=...)``.
"""

from __future__ import annotations

import numpy as np

from awing_tf.schemes import LandmarkScheme, get_scheme


def _as_batch(points: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[-1] != 2:
        raise ValueError(f"{name} must be (K, 2) or (N, K, 2), got shape {arr.shape}")
    return arr


def normalizer_distance(
    gt: np.ndarray, scheme: str | LandmarkScheme, kind: str | None = None
) -> np.ndarray:
    """Distance between the scheme's normalizer points, per image: ``(N,)``.

    gt: ``(N, K, 2)`` or ``(K, 2)``. ``kind``: ``inter_ocular``, ``inter_pupil`` (eye
    centres = mean of the eye points where the scheme has no pupil landmark), ``torso`` (LSP),
    or ``box`` (sqrt of the area of the landmarks' bounding box). Default: the scheme's.
    """
    pts = _as_batch(gt, "gt")
    if kind == "box":
        span = pts.max(axis=1) - pts.min(axis=1)
        return np.sqrt(span[:, 0] * span[:, 1])
    a_idx, b_idx = get_scheme(scheme).normalizer_indices(kind)
    a = pts[:, list(a_idx)].mean(axis=1)
    b = pts[:, list(b_idx)].mean(axis=1)
    return np.linalg.norm(a - b, axis=-1)


def nme(pred: np.ndarray, gt: np.ndarray, normalizer: np.ndarray | float) -> np.ndarray:
    """Per-image normalized mean error (paper eq. 7): ``(N,)``.

    ``mean_i ||p_i - g_i||_2 / d`` with pred, gt ``(N, K, 2)`` (or ``(K, 2)``) and ``d`` the
    per-image normalizer ``(N,)`` (or a scalar).
    """
    p = _as_batch(pred, "pred")
    g = _as_batch(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt shapes differ: {p.shape} vs {g.shape}")
    d = np.broadcast_to(np.asarray(normalizer, dtype=np.float64), (p.shape[0],))
    if np.any(~np.isfinite(d)) or np.any(d <= 0):
        raise ValueError(f"normalizer must be finite and > 0, got {d[(d <= 0) | ~np.isfinite(d)]}")
    return np.linalg.norm(p - g, axis=-1).mean(axis=-1) / d


def failure_rate(nmes: np.ndarray, threshold: float = 0.1) -> float:
    """Fraction of images whose NME is larger than ``threshold`` (Sec. 7.2)."""
    e = np.asarray(nmes, dtype=np.float64)
    if e.size == 0:
        raise ValueError("failure_rate of an empty set of NMEs")
    return float(np.mean(e > threshold))


def ced_curve(
    nmes: np.ndarray, threshold: float = 0.1, num: int = 1001
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution: ``(errors (num,), fraction of images <= error (num,))``
    on ``[0, threshold]``."""
    e = np.sort(np.asarray(nmes, dtype=np.float64))
    xs = np.linspace(0.0, threshold, num)
    return xs, np.searchsorted(e, xs, side="right") / max(e.size, 1)


def auc(nmes: np.ndarray, threshold: float = 0.1) -> float:
    """Area under the CED curve on ``[0, threshold]``, divided by ``threshold`` (in [0, 1]).

    Computed exactly: the CED is a step function, so its integral is
    ``mean_n max(0, threshold - e_n)``; a fine trapezoid sum (mmpose, the authors' code)
    converges to the same value.
    """
    e = np.asarray(nmes, dtype=np.float64)
    if e.size == 0:
        raise ValueError("auc of an empty set of NMEs")
    return float(np.mean(np.clip(threshold - e, 0.0, None)) / threshold)


def summarize(nmes: np.ndarray) -> dict[str, float]:
    """The paper's summary numbers: mean NME, FR and AUC at 8 % and 10 % (as fractions)."""
    e = np.asarray(nmes, dtype=np.float64)
    return {
        "nme": float(e.mean()),
        "fr_8": failure_rate(e, 0.08),
        "fr_10": failure_rate(e, 0.10),
        "auc_8": auc(e, 0.08),
        "auc_10": auc(e, 0.10),
    }


def paired_difference_ci(
    a: np.ndarray, b: np.ndarray, confidence: float = 0.95, resamples: int = 10000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired samples and its bootstrap confidence interval.

    a, b: ``(N,)`` per-image values of two methods on the same images (e.g. int8 and float
    NMEs). The interval is the percentile bootstrap over images (``resamples`` draws with
    replacement, a fixed ``seed``), so it reflects how much the difference depends on which
    faces are in the test set.

    Returns:
      ``(mean difference, low, high)``.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) == 0:
        raise ValueError(f"a and b must be non-empty (N,) arrays of one shape, got {x.shape} "
                         f"and {y.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    d = x - y
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(resamples, len(d)))].mean(axis=1)
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(d.mean()), float(low), float(high)
