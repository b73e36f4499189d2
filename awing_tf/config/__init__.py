"""Configuration: the dataclasses of a run, named presets and ``--override`` strings (no
TensorFlow import).

:class:`HeatmapSpec` (scheme, input size, heatmap size, boundary channel) is the geometry the
network, the codec and the input pipeline share; it lives once, in ``ModelConfig.spec``.
"""

from awing_tf.config.overrides import apply_overrides
from awing_tf.config.presets import preset, preset_names
from awing_tf.config.run_config import (
    STEM_STRIDE,
    Config,
    DataConfig,
    HeatmapSpec,
    ModelConfig,
    TrainConfig,
)

__all__ = ["STEM_STRIDE", "Config", "DataConfig", "HeatmapSpec", "ModelConfig", "TrainConfig",
           "apply_overrides", "preset", "preset_names"]
