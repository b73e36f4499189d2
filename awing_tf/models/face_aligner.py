"""FaceAligner: the task model users compile, fit, save and predict landmarks with."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from awing_tf.codec import decode_heatmaps
from awing_tf.config import ModelConfig, preset
from awing_tf.layers.coord_conv import CoordConv
from awing_tf.layers.hourglass import ConvBlock, Hourglass
from awing_tf.models.stacked_hourglass import build_model


@keras.saving.register_keras_serializable(package="awing_tf")
class FaceAligner(keras.Model):
    """Stacked-hourglass landmark model that knows its own configuration.

    Call it like any Keras model: ``images (B, S, S, 3)`` float32 in [0, 1] -> a list of
    ``num_stacks`` heatmaps ``(B, h, w, K [+1])``. ``predict_landmarks`` decodes the last
    stack to ``(B, K, 2)`` input pixels. Saved ``.keras`` files restore the same config.
    """

    def __init__(self, model_config: ModelConfig | dict | None = None, **kwargs):
        if isinstance(model_config, dict):
            model_config = ModelConfig(**model_config)
        model_config = model_config or ModelConfig()
        if not isinstance(model_config, ModelConfig):
            raise TypeError("model_config must be a ModelConfig or dict, got "
                            f"{type(model_config).__name__}")
        backbone = build_model(model_config)
        kwargs.setdefault("name", "face_aligner")
        super().__init__(inputs=backbone.inputs[0], outputs=backbone.outputs, **kwargs)
        self.model_config = model_config

    @classmethod
    def from_preset(cls, name: str, scheme: str = "300w68", **overrides) -> FaceAligner:
        """``FaceAligner.from_preset("compact", scheme="300w68", num_stacks=1)``."""
        cfg = dataclasses.replace(preset(name, scheme).model, **overrides)
        return cls(cfg)

    @property
    def num_landmarks(self) -> int:
        return self.model_config.num_landmarks

    @property
    def input_size(self) -> int:
        return self.model_config.input_size

    def landmark_heatmaps(self, images) -> tf.Tensor:
        """The last stack's landmark channels: ``(B, h, w, K)`` (boundary dropped)."""
        outputs = self(images, training=False)
        last = outputs[-1] if isinstance(outputs, list | tuple) else outputs
        return last[..., : self.num_landmarks]

    def predict_landmarks(
        self, images, method: str = "quarter_offset", batch_size: int = 32,
        return_scores: bool = False,
    ):
        """Landmarks ``(B, K, 2)`` in input pixels (and peak scores ``(B, K)``)."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != (self.input_size, self.input_size, 3):
            raise ValueError(
                f"images must be (B, {self.input_size}, {self.input_size}, 3) float32 in "
                f"[0, 1], got shape {images.shape}"
            )
        coords, scores = [], []
        for start in range(0, len(images), batch_size):
            hm = self.landmark_heatmaps(images[start:start + batch_size])
            c, s = decode_heatmaps(hm, method=method, input_size=self.input_size)
            coords.append(c.numpy())
            scores.append(s.numpy())
        lm = np.concatenate(coords) if coords else np.zeros((0, self.num_landmarks, 2))
        if return_scores:
            return lm, np.concatenate(scores)
        return lm

    def get_config(self) -> dict:
        return {"model_config": dataclasses.asdict(self.model_config), "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> FaceAligner:
        return cls(**config)


CUSTOM_OBJECTS = {
    "FaceAligner": FaceAligner, "CoordConv": CoordConv, "ConvBlock": ConvBlock,
    "Hourglass": Hourglass,
}


def load_aligner(path: str) -> FaceAligner:
    """Loads a ``.keras`` FaceAligner without compiling (losses not needed to predict)."""
    model = keras.saving.load_model(path, compile=False)
    if not isinstance(model, FaceAligner):
        raise TypeError(f"{path}: expected a saved FaceAligner, got {type(model).__name__}")
    return model
