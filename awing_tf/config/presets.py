"""Named presets (no TensorFlow import).

``preset("paper")`` is the paper's setting (Sec. 7.3): 4 stacked hourglasses, 256 features,
256 px input, 64 px heatmaps, RMSProp lr 1e-4 with x0.1 steps at 1/3 and 2/3 of training.
``compact`` and ``tiny`` are smaller variants for CPU training and tests; ``mobile`` is the
phone-sized model for TFLite export.
"""

from __future__ import annotations

import typing

from awing_tf.config.run_config import (
    Config,
    DataConfig,
    HeatmapSpec,
    ModelConfig,
    TrainConfig,
)

_PRESETS: dict[str, dict[str, typing.Any]] = {
    "paper": dict(num_stacks=4, num_features=256, input_size=256, heatmap_size=64,
                  hourglass_depth=4),
    "compact": dict(num_stacks=2, num_features=128, input_size=128, heatmap_size=32,
                    hourglass_depth=4),
    "mobile": dict(num_stacks=1, num_features=64, input_size=128, heatmap_size=32,
                   hourglass_depth=3, separable=True, post_activation=True,
                   stem_kernel_size=3, early_pool=True),
    "tiny": dict(num_stacks=2, num_features=16, input_size=64, heatmap_size=16,
                 hourglass_depth=2),
}


def preset_names() -> list[str]:
    return sorted(_PRESETS)


def preset(name: str, scheme: str = "300w68") -> Config:
    """A named configuration: ``paper``, ``compact``, ``mobile`` or ``tiny``."""
    if name not in _PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {preset_names()}")
    values = dict(_PRESETS[name])
    spec = HeatmapSpec(scheme=scheme, input_size=values.pop("input_size"),
                       heatmap_size=values.pop("heatmap_size"))
    return Config(name=name, model=ModelConfig(spec=spec, **values), data=DataConfig(),
                  train=TrainConfig())
