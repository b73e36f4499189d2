"""awing-tf: Adaptive Wing Loss face alignment for TensorFlow / Keras 3.

Public API::

    import awing_tf
    model = awing_tf.build_model(awing_tf.config.preset("compact"))
    loss = awing_tf.AdaptiveWingLoss()
    landmarks, scores = awing_tf.decode_heatmaps(heatmaps, input_size=128)

Importing the package before TensorFlow turns TensorFlow's oneDNN kernels on
(``TF_ENABLE_ONEDNN_OPTS=1``) unless the variable is already set: TensorFlow enables them
by default only on CPUs with AVX-512-class features, and on an AVX2 CPU they train the
``paper`` network 25 % faster (BUILD_NOTES.md, Performance). ``TF_ENABLE_ONEDNN_OPTS=0``
opts out.
"""

import os as _os

_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # before the first TensorFlow import

from awing_tf import config, schemes  # noqa: E402
from awing_tf.codec import (  # noqa: E402
    decode_heatmaps,
    encode_boundary,
    encode_heatmaps,
    encode_target,
)
from awing_tf.layers.coord_conv import CoordConv  # noqa: E402
from awing_tf.layers.hourglass import ConvBlock, Hourglass  # noqa: E402
from awing_tf.losses import (  # noqa: E402
    AdaptiveWingLoss,
    HeatmapMSE,
    WingLoss,
    adaptive_wing_elementwise,
    get_loss,
    weighted_loss_map,
)
from awing_tf.metrics import (  # noqa: E402
    NormalizedMeanError,
    auc,
    ced_curve,
    failure_rate,
    nme,
    normaliser_distance,
)
from awing_tf.models.face_aligner import FaceAligner, load_aligner  # noqa: E402
from awing_tf.models.stacked_hourglass import build_model  # noqa: E402

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
