"""A synthetic clip with known landmarks for the video benchmark, and its metrics (NumPy).

The clip (``render_clip``): one synthetic face (``data_tools.synthetic``; fixed expression,
scene and lighting) at 30 fps: ``still`` seconds at rest, ``motion`` seconds of a smooth
trajectory (horizontal translation, scale, yaw and roll as sinusoids), ``still`` seconds at
rest again. Every frame gets fresh sensor noise (Gaussian, ``noise_sigma`` grey levels) and
a JPEG re-encoding at ``jpeg_quality``, so predictions at rest jitter as they do on a real
camera.

Metrics: NME (inter-ocular) against the true landmarks; **jitter**: the mean frame-to-frame
landmark displacement at rest over the inter-ocular distance (truth at rest does not move);
**lag**: the delay in frames of the predicted landmark centroid behind the true one during
motion, from the peak of their cross-correlation (velocities, parabolic sub-frame peak).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class ClipSpec:
    fps: float = 30.0
    still: float = 2.0
    motion: float = 4.0
    image_size: int = 256
    noise_sigma: float = 3.0
    jpeg_quality: int = 80
    seed: int = 0


def trajectory(spec: ClipSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per frame ``(pose parameters (T, 5): dx px, scale factor, yaw deg, roll deg, pitch
    deg; moving (T,) bool)``: rest, one smooth cycle of motion (zero velocity at both ends),
    rest."""
    n_still, n_move = round(spec.still * spec.fps), round(spec.motion * spec.fps)
    t = np.arange(n_move) / n_move
    ease = 0.5 - 0.5 * np.cos(2 * math.pi * t)  # 0 -> 1 -> 0, smooth at both ends
    wave = np.sin(2 * math.pi * t)
    moving = np.concatenate([np.zeros(n_still), np.ones(n_move), np.zeros(n_still)]) > 0
    params = np.zeros((len(moving), 5))
    params[:, 1] = 1.0
    m = slice(n_still, n_still + n_move)
    params[m, 0] = 40.0 * wave           # px
    params[m, 1] = 1.0 + 0.15 * ease     # scale
    params[m, 2] = 25.0 * wave           # yaw
    params[m, 3] = 12.0 * ease           # roll
    return params, moving


def render_clip(spec: ClipSpec) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``(frames [(S, S, 3) uint8 RGB], landmarks (T, 68, 2), moving (T,))``."""
    import cv2

    from data_tools.synthetic.geometry import Pose
    from data_tools.synthetic.render import random_expression, render_face_at

    params, moving = trajectory(spec)
    s = spec.image_size
    expr = random_expression(np.random.default_rng(spec.seed))
    noise_rng = np.random.default_rng(spec.seed + 1)
    frames, landmarks = [], []
    for dx, scale, yaw, roll, pitch in params:
        pose = Pose(yaw=math.radians(yaw), roll=math.radians(roll), pitch=math.radians(pitch),
                    scale=0.21 * s * scale, center=(0.5 * s + dx, 0.52 * s))
        # the same seed every frame: the same scene, only the pose changes
        bgr, pts, _, _ = render_face_at(np.random.default_rng(spec.seed + 2), "300w68", s,
                                        pose, expr=expr, occluders=False)
        noisy = np.clip(bgr + noise_rng.normal(0, spec.noise_sigma, bgr.shape), 0, 255)
        ok, jpeg = cv2.imencode(".jpg", noisy.astype(np.uint8),
                                [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg_quality])
        frames.append(cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
        landmarks.append(pts)
    return frames, np.stack(landmarks).astype(np.float64), moving


def inter_ocular(landmarks: np.ndarray) -> np.ndarray:
    """``(T, 68, 2)`` -> outer eye-corner distance ``(T,)`` (points 36 and 45)."""
    return np.linalg.norm(landmarks[:, 36] - landmarks[:, 45], axis=-1)


def nme(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per frame NME ``(T,)`` in percent."""
    return np.linalg.norm(pred - truth, axis=-1).mean(axis=-1) / inter_ocular(truth) * 100


def jitter(pred: np.ndarray, truth: np.ndarray, still: np.ndarray) -> float:
    """Mean frame-to-frame displacement between consecutive still frames over the
    inter-ocular distance, percent."""
    pairs = still[1:] & still[:-1]
    step = np.linalg.norm(np.diff(pred, axis=0), axis=-1).mean(axis=-1)
    return float((step / inter_ocular(truth)[1:])[pairs].mean() * 100)


def lag_frames(pred: np.ndarray, truth: np.ndarray, moving: np.ndarray,
               max_lag: int = 8) -> float:
    """Frames the predicted centroid trails the true one during motion: the peak of the
    cross-correlation of their velocities over lags 0..``max_lag`` (parabolic peak)."""
    idx = np.nonzero(moving)[0]
    # velocities between consecutive frames from the last frame at rest to the first again
    a, b = max(idx[0] - 1, max_lag), min(idx[-1] + 1, len(moving) - 1 - max_lag)
    v_true = np.diff(truth.mean(axis=1), axis=0)[a:b]
    v_pred = np.nan_to_num(np.diff(pred.mean(axis=1), axis=0))
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.array([np.sum(v_true * v_pred[a + lag:b + lag]) for lag in lags])
    k = int(np.argmax(corr))
    if 0 < k < len(lags) - 1:
        denom = corr[k - 1] - 2 * corr[k] + corr[k + 1]
        shift = 0.5 * (corr[k - 1] - corr[k + 1]) / denom if denom != 0 else 0.0
    else:
        shift = 0.0
    return float(lags[k] + shift)
