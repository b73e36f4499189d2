"""awing-tf: Adaptive Wing Loss face alignment for TensorFlow / Keras 3.

Public API::

    import awing_tf
    model = awing_tf.build_model(awing_tf.config.preset("compact"))
    loss = awing_tf.AdaptiveWingLoss()
    landmarks, scores = awing_tf.decode_heatmaps(heatmaps, input_size=128)
"""

from awing_tf import config, schemes
from awing_tf.codec import decode_heatmaps, encode_boundary, encode_heatmaps, encode_target
from awing_tf.layers.coord_conv import CoordConv
from awing_tf.layers.hourglass import ConvBlock, Hourglass
from awing_tf.losses import (
    AdaptiveWingLoss,
    HeatmapMSE,
    WingLoss,
    adaptive_wing_elementwise,
    get_loss,
    weighted_loss_map,
)
from awing_tf.metrics import (
    NormalizedMeanError,
    auc,
    ced_curve,
    failure_rate,
    nme,
    normaliser_distance,
)
from awing_tf.models.face_aligner import FaceAligner, load_aligner
from awing_tf.models.stacked_hourglass import build_model

__all__ = [
    "AdaptiveWingLoss",
    "ConvBlock",
    "FaceAligner",
    "CoordConv",
    "HeatmapMSE",
    "Hourglass",
    "NormalizedMeanError",
    "WingLoss",
    "adaptive_wing_elementwise",
    "auc",
    "build_model",
    "ced_curve",
    "config",
    "decode_heatmaps",
    "encode_boundary",
    "encode_heatmaps",
    "encode_target",
    "failure_rate",
    "get_loss",
    "load_aligner",
    "nme",
    "normaliser_distance",
    "schemes",
    "weighted_loss_map",
]
__version__ = "0.1.0"
