"""awing-tf: Adaptive Wing Loss face alignment for TensorFlow / Keras 3.

Public API::

    import awing_tf
    model = awing_tf.FaceAligner.from_preset("compact")
    loss = awing_tf.AdaptiveWingLoss()
    codec = awing_tf.HeatmapCodec(model.spec)
    landmarks, scores = codec.decode(heatmaps)

Names are loaded on first use (PEP 562), so ``import awing_tf`` and the command-line apps'
``--help`` do not import TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "config": "awing_tf.config",
    "schemes": "awing_tf.schemes",
    "metrics": "awing_tf.metrics",
    "HeatmapSpec": "awing_tf.config",
    "HeatmapCodec": "awing_tf.codec",
    "decode_heatmaps": "awing_tf.codec",
    "CoordConv": "awing_tf.layers.coord_conv",
    "ConvBlock": "awing_tf.layers.hourglass",
    "Hourglass": "awing_tf.layers.hourglass",
    "AdaptiveWingLoss": "awing_tf.losses",
    "HeatmapMSE": "awing_tf.losses",
    "WingLoss": "awing_tf.losses",
    "adaptive_wing_elementwise": "awing_tf.losses",
    "get_loss": "awing_tf.losses",
    "weighted_loss_map": "awing_tf.losses",
    "NormalizedMeanError": "awing_tf.training.nme_metric",
    "auc": "awing_tf.metrics",
    "ced_curve": "awing_tf.metrics",
    "failure_rate": "awing_tf.metrics",
    "nme": "awing_tf.metrics",
    "normalizer_distance": "awing_tf.metrics",
    "FaceAligner": "awing_tf.models.face_aligner",
    "load_aligner": "awing_tf.models.face_aligner",
    "build_model": "awing_tf.models.stacked_hourglass",
    "AlignedFace": "awing_tf.inference.alignment",
    "detect_faces": "awing_tf.inference.face_detection",
    "FaceTracker": "awing_tf.inference.tracking",
    "OneEuroFilter": "awing_tf.inference.one_euro",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'awing_tf' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    value = loaded if module.rsplit(".", 1)[-1] == name else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
