"""FaceAligner: the task model users compile, fit, save and predict landmarks with.

It is the one place that knows how to read the network's outputs: the last stack is the
prediction, its first K channels are the landmarks and the boundary channel follows.
Training callbacks, evaluation and every export ask it rather than slicing outputs
themselves.
"""

from __future__ import annotations

import dataclasses
import weakref

import keras
import numpy as np
import tensorflow as tf

from awing_tf.codec import HeatmapCodec
from awing_tf.config import HeatmapSpec, ModelConfig, preset
from awing_tf.data import photometric
from awing_tf.models.stacked_hourglass import build_model

# compiled decode functions per model and (method, flip_test): predict_landmarks in graph
# mode (eager dispatch costs several times the network itself on small batches)
_DECODERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@keras.saving.register_keras_serializable(package="awing_tf")
class FaceAligner(keras.Model):
    """Stacked-hourglass landmark model that knows its own configuration.

    Call it like any Keras model: ``images (B, S, S, 3)`` float32 in [0, 1] -> a list of
    ``num_stacks`` heatmaps ``(B, h, w, K [+1])``. ``predict_landmarks`` decodes the last
    stack to ``(B, K, 2)`` input pixels. Saved ``.keras`` files restore the same config.
    """

    def __init__(self, model_config: ModelConfig | dict | None = None, **kwargs):
        if isinstance(model_config, dict):
            model_config = ModelConfig.from_dict(model_config)
        model_config = model_config or ModelConfig()
        if not isinstance(model_config, ModelConfig):
            raise TypeError("model_config must be a ModelConfig or dict, got "
                            f"{type(model_config).__name__}")
        backbone = build_model(model_config)
        kwargs.setdefault("name", "face_aligner")
        super().__init__(inputs=backbone.inputs[0], outputs=backbone.outputs, **kwargs)
        self.model_config = model_config
        self.codec = HeatmapCodec(model_config.spec)
        # Encodes landmark targets into heatmap targets inside the training and test steps
        # (``compile_for_training`` sets the run's codec, with its data sigmas).
        self.target_codec = self.codec
        # The crop margin of the data it was trained with: set by the loaders from the run's
        # config or the pretrained manifest; None means the scheme's default.
        self.crop_margin: float | None = None

    @classmethod
    def from_preset(cls, name: str, scheme: str = "300w68", **overrides) -> FaceAligner:
        """``FaceAligner.from_preset("compact", scheme="300w68", num_stacks=1)``."""
        cfg = dataclasses.replace(preset(name, scheme).model, **overrides)
        return cls(cfg)

    @classmethod
    def from_pretrained(cls, name: str = "300w68_compact") -> FaceAligner:
        """A pretrained model shipped in the package (``awing_tf.pretrained.available()``),
        its file checked against the manifest's SHA-256."""
        from awing_tf import pretrained

        model = load_aligner(pretrained.file_path(name, "keras"))
        margin = pretrained.manifest(name).get("crop_margin")
        model.crop_margin = None if margin is None else float(margin)
        return model

    @property
    def spec(self) -> HeatmapSpec:
        return self.model_config.spec

    @property
    def num_landmarks(self) -> int:
        return self.model_config.num_landmarks

    @property
    def input_size(self) -> int:
        return self.model_config.input_size

    # === Reading the outputs ===

    @staticmethod
    def final_heatmaps(outputs) -> tf.Tensor:
        """The prediction among the network's outputs: the last stack's ``(B, h, w, C)``."""
        return outputs[-1] if isinstance(outputs, list | tuple) else outputs

    def heatmaps(self, images, flip_test: bool = False) -> tf.Tensor:
        """The last stack's output ``(B, h, w, K [+1])`` float32, boundary channel last.

        ``flip_test``: also run the mirrored images (in the same batch), mirror their heatmaps
        back, relabel the channels with the scheme's flip permutation and average the two, as
        FAN and HRNet evaluate; the result is exactly mirror-symmetric.
        """
        if not flip_test:
            return tf.cast(self.final_heatmaps(self(images, training=False)), tf.float32)
        images = tf.convert_to_tensor(images)
        both = tf.concat([images, tf.reverse(images, axis=[2])], axis=0)
        out = tf.cast(self.final_heatmaps(self(both, training=False)), tf.float32)
        direct, mirrored = tf.split(out, 2, axis=0)
        return 0.5 * (direct + self.mirror_heatmaps(mirrored))

    def mirror_heatmaps(self, heatmaps: tf.Tensor) -> tf.Tensor:
        """Heatmaps ``(B, h, w, C)`` of a mirrored image -> those of the image itself: the x
        axis reversed (exact under the pixel-centre convention) and the landmark channels
        relabelled by the flip permutation (the boundary channel maps to itself)."""
        order = list(self.spec.landmark_scheme.flip_permutation)
        order += list(range(len(order), self.spec.num_channels))
        return tf.gather(tf.reverse(heatmaps, axis=[2]), order, axis=-1)

    def landmark_heatmaps(self, images, flip_test: bool = False) -> tf.Tensor:
        """The last stack's landmark channels: ``(B, h, w, K)`` float32 (boundary dropped)."""
        return self.codec.landmark_channels(self.heatmaps(images, flip_test))

    def boundary_heatmap(self, images) -> tf.Tensor | None:
        """The last stack's boundary channel ``(B, h, w, 1)``, or None without one."""
        if not self.spec.use_boundary:
            return None
        return self.heatmaps(images)[..., self.num_landmarks:]

    def decode(self, images, method: str = "quarter_offset", flip_test: bool = False
               ) -> tuple[tf.Tensor, tf.Tensor]:
        """One batch ``images (B, S, S, 3)`` -> ``(landmarks (B, K, 2) input pixels, peak
        scores (B, K))``, as tensors (usable inside ``tf.function``)."""
        return self.codec.decode(self.landmark_heatmaps(images, flip_test), method)

    def predict_landmarks(
        self, images, method: str = "quarter_offset", batch_size: int = 32,
        return_scores: bool = False, flip_test: bool = False,
    ):
        """Landmarks ``(B, K, 2)`` in input pixels (and peak scores ``(B, K)``);
        ``flip_test`` averages with the mirrored images' heatmaps (:meth:`heatmaps`)."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != (self.input_size, self.input_size, 3):
            raise ValueError(
                f"images must be (B, {self.input_size}, {self.input_size}, 3) float32 in "
                f"[0, 1], got shape {images.shape}"
            )
        decoders = _DECODERS.setdefault(self, {})
        if (method, flip_test) not in decoders:
            decoders[(method, flip_test)] = tf.function(
                lambda x: self.decode(x, method, flip_test), reduce_retracing=True)
        decode = decoders[(method, flip_test)]
        coords, scores = [], []
        for start in range(0, len(images), batch_size):
            c, s = decode(tf.constant(images[start:start + batch_size]))
            coords.append(c.numpy())
            scores.append(s.numpy())
        lm = np.concatenate(coords) if coords else np.zeros((0, self.num_landmarks, 2))
        if return_scores:
            return lm, np.concatenate(scores) if scores else np.zeros((0, self.num_landmarks))
        return lm

    def align(self, images, boxes=None, *, detector: str = "blazeface",
              min_face_score: float = 0.5, method: str = "quarter_offset",
              flip_test: bool = False, batch_size: int = 32, crop_margin: float | None = None):
        """Every face in whole images: ``images``, a list of ``(H_i, W_i, 3)`` uint8 RGB
        arrays of any sizes (or one such array); ``boxes``, per image ``(N_i, 4)`` face boxes
        or None to detect them. The crops of all faces go through the model in batches of
        ``batch_size``. Returns, per image, a list of
        :class:`awing_tf.inference.alignment.AlignedFace` (box, detector score, landmarks
        ``(K, 2)`` image pixels, confidences ``(K,)``, pose ``(yaw, pitch, roll)`` degrees)."""
        from awing_tf.inference.alignment import align_images

        single = isinstance(images, np.ndarray) and images.ndim == 3
        if single:
            images = [images]
            boxes = None if boxes is None else [boxes]
        margin = crop_margin if crop_margin is not None else self.margin
        out = align_images(self, images, boxes, margin=margin, detector=detector,
                           min_face_score=min_face_score, method=method, flip_test=flip_test,
                           batch_size=batch_size)
        return out[0] if single else out

    @property
    def margin(self) -> float:
        """The crop margin to predict with: :attr:`crop_margin`, else the scheme's default."""
        if self.crop_margin is not None:
            return self.crop_margin
        return float(self.spec.landmark_scheme.default_crop_margin)

    # === Training: targets built in the step ===

    def heatmap_targets(self, landmarks: tf.Tensor, visible: tf.Tensor | None = None
                        ) -> tuple[tf.Tensor, ...]:
        """Landmark targets -> the heatmap targets of every stack, on the device that runs
        the step: ``landmarks (B, K, 2)`` input-crop pixels, ``visible (B, K)`` ->
        ``num_stacks`` references to one ``(B, h, w, K [+1])`` float32 tensor encoded by
        :attr:`target_codec` (boundary channel last)."""
        target = self.target_codec.encode(landmarks, visible=visible)
        return tuple([target] * len(self.outputs))

    def step_batch(self, data):
        """A batch as ``make_dataset`` yields it -> the batch the model trains on: landmark
        targets (``{"landmarks", "visible"}``) become heatmap targets and, where the targets
        carry the blur and noise each image drew (``"blur_sigma"``, ``"noise_stddev"``,
        ``"photometric_seed"``), the images are blurred and noised here; a batch with heatmap
        targets passes unchanged. images: ``(B, S, S, 3)``."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(y, dict) and "landmarks" in y:
            if "blur_sigma" in y:
                x = photometric.blur_and_noise(x, y["blur_sigma"], y["noise_stddev"],
                                               y["photometric_seed"][0])
            y = self.heatmap_targets(y["landmarks"], y.get("visible"))
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def heatmap_target_spec(self, element_spec):
        """The element spec of a dataset with landmark targets -> the spec of the batches
        the steps see, with ``num_stacks`` heatmap targets ``(B, h, w, K [+1])`` float32
        (what Keras builds the compiled loss and metrics from); other specs unchanged."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(element_spec)
        if isinstance(y, dict) and "landmarks" in y:
            size, channels = self.spec.heatmap_size, self.spec.num_channels
            shape = (y["landmarks"].shape[0], size, size, channels)
            y = tuple(tf.TensorSpec(shape, tf.float32) for _ in self.outputs)
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def train_step(self, data):
        """Keras' training step on :meth:`step_batch` of the batch."""
        return super().train_step(self.step_batch(data))

    def test_step(self, data):
        """Keras' test step on :meth:`step_batch` of the batch."""
        return super().test_step(self.step_batch(data))

    # === Conversion and serialisation ===

    def to_float32(self) -> FaceAligner:
        """This model if it computes in float32, else a float32 copy with its weights (what
        every export converts)."""
        if self.dtype_policy.name == "float32" and self.compute_dtype == "float32":
            return self
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("float32")
        try:
            clone = FaceAligner(self.model_config, name=self.name)
        finally:
            keras.mixed_precision.set_global_policy(previous)
        clone.set_weights(self.get_weights())
        return clone

    def get_config(self) -> dict:
        return {"model_config": self.model_config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> FaceAligner:
        return cls(**config)


def load_aligner(path: str) -> FaceAligner:
    """Loads a ``.keras`` FaceAligner without compiling (losses not needed to predict)."""
    model = keras.saving.load_model(path, compile=False)
    if not isinstance(model, FaceAligner):
        raise TypeError(f"{path}: expected a saved FaceAligner, got {type(model).__name__}")
    return model
