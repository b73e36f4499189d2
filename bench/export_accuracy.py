"""Accuracy of exported models: the evaluation crops of TFRecords and per-face NMEs of a
Keras or a ``.tflite`` model on them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from awing_tf.config import ModelConfig

CROP_BATCH = 16


def eval_crops(records: str, model_config: ModelConfig, limit: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(crops (N, S, S, 3) float32 in [0, 1], landmarks (N, K, 2) crop px)`` of the
    evaluation pipeline (square box crop with the scheme's margin, no augmentation) for a
    model of ``model_config``; at most ``limit`` faces."""
    from awing_tf.config import Config
    from awing_tf.data.pipeline import make_dataset

    cfg = Config.for_model(model_config)
    crops, points = [], []
    for images, _, meta in make_dataset(records, cfg, training=False, batch_size=CROP_BATCH,
                                        with_metadata=True):
        crops.append(images.numpy())
        points.append(meta["landmarks"].numpy())
        if limit and sum(len(c) for c in crops) >= limit:
            break
    if not crops:
        raise ValueError(f"no evaluation faces in {records!r}")
    return np.concatenate(crops)[:limit], np.concatenate(points)[:limit]


def face_nmes(pred: np.ndarray, gt: np.ndarray, scheme: str) -> np.ndarray:
    """``(N,)`` inter-ocular NME per face in percent (crop pixels: the crop is a similarity
    of the image)."""
    from awing_tf.metrics import nme, normalizer_distance

    return 100.0 * nme(pred, gt, normalizer_distance(gt, scheme, "inter_ocular"))


def tflite_face_nmes(path: str, crops: np.ndarray, gt: np.ndarray, scheme: str) -> np.ndarray:
    """``(N,)`` per-face NMEs (percent) of the ``.tflite`` at ``path`` on the crops."""
    from export.runner import TFLiteLandmarker

    landmarker = TFLiteLandmarker(path, num_threads=2)
    pred = np.stack([landmarker.predict_crop(c)[0] for c in crops])
    return face_nmes(pred, gt, scheme)
