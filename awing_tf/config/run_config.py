"""The configuration dataclasses of a run (no TensorFlow import).

One owner per setting:

* :class:`HeatmapSpec` (scheme, input size, heatmap size, boundary channel) is the geometry
  that the network, the heatmap codec and the input pipeline share. It lives once, in
  ``ModelConfig.spec``; ``ModelConfig.scheme`` and friends only read it.
* :class:`DataConfig` holds how targets are drawn and faces augmented (sigma, margin, ...).
* :class:`TrainConfig` holds the optimiser, the loss and the global ``batch_size``.
"""

from __future__ import annotations

import dataclasses
import typing

from awing_tf.schemes import LandmarkScheme, get_scheme

BAD_RECORD_POLICIES = ("fail", "skip")  # DataConfig.on_bad_record
STEM_STRIDE = 4  # the stem downsamples the input by 4: input_size = 4 x heatmap_size


@dataclasses.dataclass(frozen=True)
class HeatmapSpec:
    """The geometry shared by model, codec and data: which landmarks, at which sizes.

    ``input_size``: side S of the square network input in pixels; ``heatmap_size``: side h of
    each heatmap; ``use_boundary``: a boundary channel follows the K landmark channels.
    """

    scheme: str = "300w68"
    input_size: int = 256
    heatmap_size: int = 64
    use_boundary: bool = True

    def __post_init__(self) -> None:
        get_scheme(self.scheme)
        for name in ("input_size", "heatmap_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"HeatmapSpec.{name} must be a positive int, got {value!r}")

    @property
    def landmark_scheme(self) -> LandmarkScheme:
        return get_scheme(self.scheme)

    @property
    def num_landmarks(self) -> int:
        """K, the landmark channels of a heatmap tensor."""
        return self.landmark_scheme.num_points

    @property
    def num_channels(self) -> int:
        """Channels of a heatmap tensor: K landmarks (+1 boundary, last)."""
        return self.num_landmarks + int(self.use_boundary)


SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(HeatmapSpec))


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Network shape around a :class:`HeatmapSpec` (``input_size`` must be 4 x
    ``heatmap_size``: the stem downsamples by 4)."""

    spec: HeatmapSpec = HeatmapSpec()
    num_stacks: int = 4
    num_features: int = 256
    hourglass_depth: int = 4
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

    # Read-only views of the spec, for the code that reads them most.
    @property
    def scheme(self) -> str:
        return self.spec.scheme

    @property
    def input_size(self) -> int:
        return self.spec.input_size

    @property
    def heatmap_size(self) -> int:
        return self.spec.heatmap_size

    @property
    def use_boundary(self) -> bool:
        return self.spec.use_boundary

    @property
    def num_landmarks(self) -> int:
        return self.spec.num_landmarks

    @property
    def num_outputs(self) -> int:
        """Channels of each stack's heatmap output: K landmarks (+1 boundary)."""
        return self.spec.num_channels

    def to_dict(self) -> dict[str, typing.Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, typing.Any]) -> ModelConfig:
        """The inverse of :meth:`to_dict`; also reads the flat layout of files written before
        the geometry had its own :class:`HeatmapSpec` (``scheme``, ``input_size``, ... at the
        top level)."""
        values = dict(values)
        spec = values.pop("spec", None)
        flat = {k: values.pop(k) for k in SPEC_FIELDS if k in values}
        if spec is None:
            spec = HeatmapSpec(**flat)
        elif isinstance(spec, dict):
            spec = HeatmapSpec(**spec)
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"model config has unknown fields {sorted(unknown)}")
        return cls(spec=spec, **values)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Target drawing, crop and the paper's augmentation (Sec. 7.3).

    ``crop_margin`` enlarges the square face box by this fraction; ``None`` takes the
    scheme's default (WFLW 0.1 as in the paper, others 0). ``on_bad_record``: ``fail``
    stops at the first bad shard or record with an error naming it; ``skip`` drops bad
    records (logged and counted) and reads a shard with a framing error up to the error.
    """

    sigma: float = 1.5  # landmark Gaussian sigma in heatmap pixels
    boundary_sigma: float = 1.0  # boundary line sigma in heatmap pixels (authors: 1)
    crop_margin: float | None = None
    rotation_degrees: float = 50.0
    translation_fraction: float = 25.0 / 256.0  # +-25 px at 256 px input
    scale_range: float = 0.15
    flip_probability: float = 0.5
    blur_probability: float = 0.2
    noise_probability: float = 0.2
    noise_stddev: float = 0.03
    occlusion_probability: float = 0.2
    shuffle_buffer: int = 512
    seed: int | None = 0
    deterministic: bool = False
    on_bad_record: str = "fail"

    def __post_init__(self) -> None:
        if self.on_bad_record not in BAD_RECORD_POLICIES:
            raise ValueError(f"DataConfig.on_bad_record must be one of {BAD_RECORD_POLICIES}, "
                             f"got {self.on_bad_record!r}")

    def margin_for(self, scheme: str | LandmarkScheme) -> float:
        """The crop margin to use for ``scheme``: ``crop_margin`` or the scheme's default."""
        if self.crop_margin is not None:
            return float(self.crop_margin)
        return get_scheme(scheme).default_crop_margin


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimiser, loss and schedule; defaults are the paper's (Sec. 7.3)."""

    epochs: int = 240
    batch_size: int = 8  # global: split over the replicas of a distribution strategy
    learning_rate: float = 1e-4
    momentum: float = 0.0
    weight_decay: float = 1e-5
    lr_decay_fractions: tuple[float, ...] = (1.0 / 3.0, 2.0 / 3.0)
    lr_decay_factor: float = 0.1
    # > 0: keep an exponential moving average of the weights with this momentum (e.g. 0.999)
    # and end training with the averaged weights (Keras' optimizer ``use_ema``)
    ema_momentum: float = 0.0
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
    # > 0: train for this many wall-clock minutes; a timing probe sets ``epochs`` (and with
    # them the learning-rate schedule) and the run stops when the time is used
    time_budget_minutes: float = 0.0
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

    @property
    def spec(self) -> HeatmapSpec:
        return self.model.spec

    @classmethod
    def for_model(cls, model: ModelConfig, data: DataConfig | None = None,
                  train: TrainConfig | None = None, name: str = "custom") -> Config:
        """A config around an existing model's geometry (evaluation, export, fine-tuning)."""
        return cls(name=name, model=model, data=data or DataConfig(),
                   train=train or TrainConfig())

    def to_dict(self) -> dict[str, typing.Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, typing.Any]) -> Config:
        """The inverse of :meth:`to_dict`, for a run's ``config.json``; also reads files
        written before the geometry had its own spec (it was then repeated in ``data``)."""
        data = {k: v for k, v in values.get("data", {}).items()
                if k not in SPEC_FIELDS and k != "batch_size"}
        train = dict(values.get("train", {}))
        if "lr_decay_fractions" in train:
            train["lr_decay_fractions"] = tuple(train["lr_decay_fractions"])
        return cls(name=str(values.get("name", "custom")),
                   model=ModelConfig.from_dict(values.get("model", {})),
                   data=DataConfig(**data), train=TrainConfig(**train))
