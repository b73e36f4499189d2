"""Quantization-aware fine-tuning: fake-quantized activations in Keras 3, before full int8.

    python -m export.qat --model=compact.keras --train_records='/data/300w/helen-*' \
        --representative_records='/data/300w/helen-*' --output=compact_qat.keras
    python -m export.tflite --model=compact_qat.keras --quantize=int8 \
        --representative_records='/data/300w/helen-*' --output=compact_int8.tflite

Full int8 rounds every activation tensor to 256 levels of one per-tensor range. A trained
pre-activation model (``paper``, ``compact``) was never trained with that noise and loses
more than a NME point in post-training int8 (BUILD_NOTES.md, Export). This module fine-tunes
the float model with the output of every layer that becomes a quantized TFLite tensor
(convolutions, BatchNorm, ReLU, additions, concatenations, pooling) passed through
``tf.quantization.fake_quant_with_min_max_args``: 8 bits over the layer's output range
measured once on representative crops, with the straight-through gradient inside the range.
The weights learn to tolerate the rounding; the result is an ordinary ``.keras`` model that
``export.tflite`` converts with its usual post-training int8 path (which measures its ranges
again). A layer called at several places (a block's shared ReLU) gets one range over all
of them; a ``SeparableConv2D``'s depthwise result, a tensor of its own in TFLite, is
rounded too (``<key>/depthwise``). BatchNorm layers are frozen (statistics, gamma and
beta) while fine-tuning. Weights are not fake-quantized: per-channel int8 weights alone
(``dynamic``) cost no measurable accuracy. (TensorFlow Model Optimization's
quantization-aware training supports only tf.keras 2 models, not Keras 3.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from awing_tf.config import Config  # noqa: E402
from awing_tf.layers.coord_conv import CoordConv  # noqa: E402
from awing_tf.layers.pooling import AveragePooling2x2  # noqa: E402

FAKE_QUANT_LAYER_TYPES = (
    keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D,
    keras.layers.BatchNormalization, keras.layers.ReLU, keras.layers.Add,
    keras.layers.Concatenate, AveragePooling2x2, CoordConv,
)
# Layers whose sublayers only hold weights (CoordConv convolves with its ``conv``'s kernel
# without calling it): the layer's own output is rounded, its sublayers are not visited.
OPAQUE_LAYER_TYPES = (CoordConv,)
NUM_BITS = 8

Ranges = dict[str, tuple[float, float]]


def fake_quant_layers(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """``{key: layer}`` for every layer of ``model`` (nested ones included) whose output
    becomes a quantized tensor in full int8 (``FAKE_QUANT_LAYER_TYPES``). The key is the
    chain of layer names from the model down, e.g. ``stack0_hourglass/b1_0/conv1`` (Keras'
    own ``layer.path`` is unset for layers built inside a subclassed layer)."""
    found: dict[str, keras.layers.Layer] = {}

    def visit(layer: keras.layers.Layer, prefix: str) -> None:
        for child in layer._flatten_layers(include_self=False, recursive=False):
            key = f"{prefix}{child.name}"
            if isinstance(child, FAKE_QUANT_LAYER_TYPES) and child not in found.values():
                found[key] = child
            if not isinstance(child, OPAQUE_LAYER_TYPES):
                visit(child, key + "/")

    visit(model, "")
    return found


def range_keys(layers: dict[str, keras.layers.Layer]) -> list[str]:
    """The keys of every rounded tensor: each layer's output, plus ``<key>/depthwise`` for
    a ``SeparableConv2D``, whose depthwise result is a tensor of its own in TFLite."""
    keys = []
    for key, layer in layers.items():
        keys.append(key)
        if isinstance(layer, keras.layers.SeparableConv2D):
            keys.append(f"{key}/depthwise")
    return keys


def _separable_call(layer: keras.layers.SeparableConv2D, key: str, transform):
    """``layer``'s forward pass written as depthwise then pointwise convolution (what
    ``tf.nn.separable_conv2d`` computes) with ``transform(key + "/depthwise", t)`` applied
    to the depthwise result ``t (B, H', W', C * depth_multiplier)``."""
    if layer.data_format != "channels_last":
        raise ValueError(f"{key}: only channels_last SeparableConv2D is supported")
    strides = (1, *layer.strides, 1)

    def call(inputs):
        h = tf.nn.depthwise_conv2d(inputs, layer.depthwise_kernel, strides,
                                   layer.padding.upper(), dilations=layer.dilation_rate)
        h = transform(f"{key}/depthwise", h)
        y = tf.nn.conv2d(h, layer.pointwise_kernel, 1, "VALID")
        if layer.use_bias:
            y = y + layer.bias
        return layer.activation(y) if layer.activation is not None else y

    return call


@contextlib.contextmanager
def _wrapped_calls(layers: dict[str, keras.layers.Layer], transform) -> Iterator[None]:
    """Within the block each layer's output ``y`` is replaced by ``transform(key, y)``
    (and a separable convolution's depthwise result likewise, ``_separable_call``);
    a layer already wrapped (nested blocks) is an error, and leaves every call as it was."""
    wrapped = []
    try:
        for key, layer in layers.items():
            if "call" in vars(layer):
                raise ValueError(f"{key}: its call is already wrapped")
            forward = (_separable_call(layer, key, transform)
                       if isinstance(layer, keras.layers.SeparableConv2D) else layer.call)

            def call(*args, _key=key, _call=forward, **kwargs):
                return transform(_key, _call(*args, **kwargs))

            layer.call = call
            wrapped.append(layer)
        yield
    finally:
        for layer in wrapped:
            del layer.call


def measure_output_ranges(model: keras.Model, crops: np.ndarray, batch_size: int = 16
                          ) -> Ranges:
    """``{key: (min, max)}`` (keys of ``fake_quant_layers``) of each fake-quantized layer's
    output over the inference-mode forward pass of ``crops (N, S, S, 3)``; a layer called at
    several places (a shared ReLU) gets the range over all of them. Every range includes 0."""
    if len(crops) == 0:
        raise ValueError("measure_output_ranges needs at least one crop")
    ranges: Ranges = {}

    def observe(key, y):
        v = np.asarray(y)
        lo, hi = ranges.get(key, (0.0, 0.0))
        ranges[key] = (min(lo, float(v.min())), max(hi, float(v.max())))
        return y

    with _wrapped_calls(fake_quant_layers(model), observe):
        for start in range(0, len(crops), batch_size):
            model(crops[start:start + batch_size], training=False)
    return ranges


@contextlib.contextmanager
def fake_quantized(model: keras.Model, ranges: Ranges) -> Iterator[None]:
    """Within the block, every fake-quantized layer's output is rounded to ``NUM_BITS`` bits
    over its range in ``ranges`` (``tf.quantization.fake_quant_with_min_max_args``;
    gradient: identity inside the range, 0 outside). float32 models only."""
    layers = fake_quant_layers(model)
    missing = [key for key in range_keys(layers) if key not in ranges]
    if missing:
        raise ValueError(f"no measured range for layer(s) {missing[:5]}")
    if model.compute_dtype != "float32":
        raise ValueError(f"fake quantization needs a float32 model, got compute dtype "
                         f"{model.compute_dtype}")

    def quantize(key, y):
        lo, hi = ranges[key]
        return tf.quantization.fake_quant_with_min_max_args(y, min=lo, max=hi,
                                                            num_bits=NUM_BITS)

    with _wrapped_calls(layers, quantize):
        yield


@contextlib.contextmanager
def frozen_batch_norm(model: keras.Model) -> Iterator[None]:
    """Within the block every BatchNormalization is non-trainable (inference statistics,
    fixed gamma and beta); the previous ``trainable`` flags are restored after."""
    bns = [layer for layer in model._flatten_layers(include_self=False, recursive=True)
           if isinstance(layer, keras.layers.BatchNormalization)]
    before = [bn.trainable for bn in bns]
    for bn in bns:
        bn.trainable = False
    try:
        yield
    finally:
        for bn, flag in zip(bns, before, strict=True):
            bn.trainable = flag


def finetune(model: keras.Model, config: Config, train_records: str, crops: np.ndarray,
             steps_per_epoch: int, verbose: str | int = "auto") -> dict:
    """Fine-tunes ``model`` in place for ``config.train.epochs`` epochs of
    ``steps_per_epoch`` steps on ``train_records`` (the training pipeline and loss of
    ``config``) with fake-quantized activations, ranges measured on ``crops``, BatchNorm
    frozen. Returns the Keras history."""
    from awing_tf.training.compile import compile_for_training
    from awing_tf.training.datasets import make_datasets

    mc = model.model_config
    if config.spec != mc.spec:
        raise ValueError(f"config {config.name!r} does not match the model: "
                         f"{config.model} vs {mc}")
    ranges = measure_output_ranges(model, crops)
    logging.info("fake-quantizing %d layer outputs", len(ranges))
    train_ds, _ = make_datasets(config, train_records)
    with frozen_batch_norm(model):
        compile_for_training(model, config, steps_per_epoch)
        with fake_quantized(model, ranges):
            history = model.fit(train_ds, epochs=config.train.epochs,
                                steps_per_epoch=steps_per_epoch, verbose=verbose)
    return history.history


def config_for_model(model: keras.Model, base: Config) -> Config:
    """``base``'s training and augmentation settings with the model's architecture and
    heatmap geometry."""
    return dataclasses.replace(base, model=model.model_config)


# === Command line ===


def define_flags() -> None:
    from awing_tf import config as config_lib

    flags.DEFINE_string("model", None, "A trained float FaceAligner (.keras).")
    flags.DEFINE_string("train_records", None, "TFRecord glob to fine-tune on.")
    flags.DEFINE_string("representative_records", None,
                        "TFRecord glob of the crops that set the fake-quantization ranges.")
    flags.DEFINE_integer("num_calibration", 100, "Crops for the ranges.")
    flags.DEFINE_enum("config", "compact", config_lib.preset_names(),
                      "Preset whose loss, augmentation and optimizer settings are used "
                      "(the architecture is the model's).")
    flags.DEFINE_integer("epochs", 60, "Fine-tuning epochs (60 x 20 steps closed the "
                         "compact int8 gap, BUILD_NOTES.md).")
    flags.DEFINE_integer("steps_per_epoch", 20, "Steps per epoch.")
    flags.DEFINE_integer("batch_size", 16, "Batch size.")
    flags.DEFINE_float("learning_rate", 1e-4,
                       "Initial learning rate (x0.1 at the preset's decay fractions).")
    flags.DEFINE_integer("seed", 0, "Random seed (augmentation).")
    flags.DEFINE_string("output", None, "The fine-tuned model (.keras) to write.")
    flags.mark_flags_as_required(["model", "train_records", "representative_records",
                                  "output"])


def main(argv: list[str]) -> None:
    del argv
    from awing_tf import config as config_lib
    from awing_tf.models.face_aligner import load_aligner
    from export.tflite import representative_crops

    f = flags.FLAGS
    if not os.path.isfile(f.model):
        raise app.UsageError(f"--model not found: {f.model}")
    if not f.output.endswith(".keras"):
        raise app.UsageError(f"--output must end with .keras, got {f.output}")
    for name in ("epochs", "steps_per_epoch", "batch_size", "num_calibration"):
        if getattr(f, name) < 1:
            raise app.UsageError(f"--{name} must be >= 1, got {getattr(f, name)}")
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(f.seed)
    model = load_aligner(f.model)
    base = config_lib.apply_overrides(
        config_lib.preset(f.config, model.model_config.scheme),
        [f"train.epochs={f.epochs}", f"train.batch_size={f.batch_size}",
         f"train.learning_rate={f.learning_rate}", f"data.seed={f.seed}",
         "train.precision=float32"])
    config = config_for_model(model, base)
    crops = representative_crops(f.representative_records, model.model_config,
                                 f.num_calibration)
    start = time.perf_counter()
    history = finetune(model, config, f.train_records, crops, f.steps_per_epoch)
    tmp = f.output + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, f.output)
    summary = {"source_model": f.model, "command": " ".join(["python -m export.qat"] + [
        f"--{name}={getattr(f, name)}" for name in (
            "train_records", "representative_records", "num_calibration", "config", "epochs",
            "steps_per_epoch", "batch_size", "learning_rate", "seed")]),
        "final_loss": float(history["loss"][-1]),
        "minutes": round((time.perf_counter() - start) / 60.0, 1)}
    with open(f.output + ".train.json", "w") as fh:
        json.dump(summary, fh, indent=2)
    logging.info("wrote %s (final loss %.4f)", f.output, summary["final_loss"])


if __name__ == "__main__":
    define_flags()
    app.run(main)
