"""Configuration dataclasses and named presets.

``preset("paper")`` is the paper's setting (Sec. 7.3): 4 stacked hourglasses, 256 features,
256 px input, 64 px heatmaps, RMSProp lr 1e-4 with x0.1 steps at 1/3 and 2/3 of training.
``compact`` and ``tiny`` are smaller variants for CPU training and tests; ``mobile`` is the
phone-sized model for TFLite export.
"""

from __future__ import annotations

import dataclasses
import typing

from awing_tf.schemes import get_scheme


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Network shape. ``input_size`` must be 4 x ``heatmap_size`` (the stem downsamples by 4)."""

    scheme: str = "300w68"
    num_stacks: int = 4
    num_features: int = 256
    input_size: int = 256
    heatmap_size: int = 64
    hourglass_depth: int = 4
    use_boundary: bool = True  # add the boundary heatmap channel (paper Sec. 5)
    use_coordconv: bool = True  # x, y, r channels before the stem and each hourglass (Sec. 6)
    use_boundary_coords: bool = True  # boundary-masked x, y from the previous stack (eq. 6)
    separable: bool = False  # depthwise-separable 3x3 convolutions in ConvBlocks (mobile)
    # conv -> BN -> ReLU ConvBlocks (BN folds into the conv in TFLite; mobile) instead of the
    # paper's pre-activation BN -> ReLU -> conv
    post_activation: bool = False
    stem_kernel_size: int = 7  # the stride-2 stem convolution (7 in the paper's network)
    # average-pool straight after the stem convolution, so the first stem ConvBlock runs at
    # S/4 instead of S/2 (mobile: a fifth of its int8 latency)
    early_pool: bool = False
    sync_batch_norm: bool = False  # BatchNorm statistics over all replicas (set by training)

    @property
    def num_landmarks(self) -> int:
        return get_scheme(self.scheme).num_points

    @property
    def num_outputs(self) -> int:
        """Channels of each stack's heatmap output: K landmarks (+1 boundary)."""
        return self.num_landmarks + int(self.use_boundary)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Input pipeline: crop, heatmap encoding and the paper's augmentation (Sec. 7.3)."""

    scheme: str = "300w68"
    input_size: int = 256
    heatmap_size: int = 64
    sigma: float = 1.5  # landmark Gaussian sigma in heatmap pixels
    boundary_sigma: float = 1.0  # boundary line sigma in heatmap pixels (authors: 1)
    use_boundary: bool = True
    crop_margin: float = 0.0  # enlarge the square box by this fraction (WFLW: 0.1)
    rotation_degrees: float = 50.0
    translation_fraction: float = 25.0 / 256.0  # +-25 px at 256 px input
    scale_range: float = 0.15
    flip_probability: float = 0.5
    blur_probability: float = 0.2
    noise_probability: float = 0.2
    noise_stddev: float = 0.03
    occlusion_probability: float = 0.2
    batch_size: int = 8
    shuffle_buffer: int = 512
    seed: int | None = 0
    deterministic: bool = False


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimiser and schedule; defaults are the paper's (Sec. 7.3)."""

    epochs: int = 240
    batch_size: int = 8
    learning_rate: float = 1e-4
    momentum: float = 0.0
    weight_decay: float = 1e-5
    lr_decay_fractions: tuple[float, ...] = (1.0 / 3.0, 2.0 / 3.0)
    lr_decay_factor: float = 0.1
    loss: str = "awing"
    # Adaptive Wing loss (eq. 3) and Weighted Loss Map (eq. 4-5), the paper's values (Sec. 7.3)
    awing_omega: float = 14.0
    awing_theta: float = 0.5
    awing_epsilon: float = 1.0
    awing_alpha: float = 2.1
    weight_map_weight: float = 10.0  # W in eq. 5
    weight_map_threshold: float = 0.2  # dilated-heatmap threshold of the mask M (eq. 4)
    precision: str = "auto"
    seed: int = 0
    # TensorFlow thread pools (0 = TensorFlow's default, one thread per core); measured
    # settings in BUILD_NOTES.md ("Performance").
    inter_op_threads: int = 0
    intra_op_threads: int = 0


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything a run needs."""

    name: str
    model: ModelConfig
    data: DataConfig
    train: TrainConfig


def _make(name: str, scheme: str, **model_kwargs: typing.Any) -> Config:
    model = ModelConfig(scheme=scheme, **model_kwargs)
    data = DataConfig(
        scheme=scheme,
        input_size=model.input_size,
        heatmap_size=model.heatmap_size,
        use_boundary=model.use_boundary,
        crop_margin=0.1 if scheme == "wflw98" else 0.0,
    )
    return Config(name=name, model=model, data=data, train=TrainConfig())


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
    get_scheme(scheme)
    return _make(name, scheme, **_PRESETS[name])


def _coerce(value: str, annotation: typing.Any, key: str) -> typing.Any:
    text = value.strip()
    ann = str(annotation)
    try:
        if ann in ("bool", "<class 'bool'>"):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if ann in ("int", "<class 'int'>"):
            return int(text)
        if ann in ("float", "<class 'float'>"):
            return float(text)
        if ann.startswith("int | None"):
            return None if text.lower() == "none" else int(text)
        if ann.startswith("tuple[float"):
            return tuple(float(v) for v in text.split(",") if v.strip())
        return text
    except ValueError:
        raise ValueError(f"override {key}={value!r}: cannot read {value!r} as {ann}") from None


def apply_overrides(config: Config, overrides: typing.Iterable[str]) -> Config:
    """Applies ``section.field=value`` strings, e.g. ``model.num_stacks=2``.

    A bare ``field=value`` is accepted when the field name is unique across sections.
    Changing ``input_size``, ``heatmap_size``, ``scheme`` or ``use_boundary`` in one section
    changes it in the other sections that share it, so model and data stay consistent.
    """
    sections = {"model": config.model, "data": config.data, "train": config.train}
    shared = {"input_size", "heatmap_size", "scheme", "use_boundary", "batch_size"}
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        key = key.strip()
        if "." in key:
            section, field = key.split(".", 1)
            if section not in sections:
                raise ValueError(f"override {key!r}: unknown section {section!r}")
            targets = [section]
        else:
            field = key
            targets = [s for s, obj in sections.items() if field in _fields(obj)]
            if not targets:
                raise ValueError(f"override {key!r}: no config field named {field!r}")
            if len(targets) > 1 and field not in shared:
                raise ValueError(f"override {key!r} is ambiguous; prefix one of {targets}")
        if field in shared:
            targets = [s for s, obj in sections.items() if field in _fields(obj)]
        for section in targets:
            obj = sections[section]
            if field not in _fields(obj):
                raise ValueError(f"override {key!r}: {section} has no field {field!r}")
            new = _coerce(value, _fields(obj)[field], key)
            sections[section] = dataclasses.replace(obj, **{field: new})
    if sections["model"].input_size != 4 * sections["model"].heatmap_size:
        raise ValueError(
            "input_size must be 4 x heatmap_size, got "
            f"{sections['model'].input_size} and {sections['model'].heatmap_size}"
        )
    get_scheme(sections["model"].scheme)
    return dataclasses.replace(config, **sections)


def _fields(obj: typing.Any) -> dict[str, typing.Any]:
    return {f.name: f.type for f in dataclasses.fields(obj)}
