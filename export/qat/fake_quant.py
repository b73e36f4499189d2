"""Fake-quantized layer outputs: what full int8 does to every activation, in Keras 3.

Full int8 rounds every activation tensor to 256 levels of one per-tensor range. Here the
output of every layer that becomes a quantized TFLite tensor (convolutions, BatchNorm, ReLU,
additions, concatenations, pooling) is passed through
``tf.quantization.fake_quant_with_min_max_args``: 8 bits over the layer's output range
measured once on representative crops, with the straight-through gradient inside the range.
A layer called at several places (a block's shared ReLU) gets one range over all of them; a
``SeparableConv2D``'s depthwise result, a tensor of its own in TFLite, is rounded too
(``<key>/depthwise``). Weights are not fake-quantized: per-channel int8 weights alone
(``dynamic``) cost no measurable accuracy.

Layers are found by walking the model (``awing_tf.compat.child_layers``) and their outputs
transformed by replacing their ``call`` for the duration of a ``with`` block
(``awing_tf.compat.replaced_calls``); the model itself is never rebuilt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from awing_tf import compat
from awing_tf.layers.coord_conv import CoordConv
from awing_tf.layers.pooling import AveragePooling2x2

FAKE_QUANT_LAYER_TYPES = (
    keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D,
    keras.layers.BatchNormalization, keras.layers.ReLU, keras.layers.Add,
    keras.layers.Concatenate, AveragePooling2x2, CoordConv,
)
# Layers whose sublayers only hold weights (CoordConv convolves with its ``conv``'s kernel
# without calling it): the layer's own output is rounded, its sublayers are not visited.
OPAQUE_LAYER_TYPES = (CoordConv,)
NUM_BITS = 8

# ``{key: (min, max)}`` of each rounded tensor, keys as in ``range_keys``.
Ranges = dict[str, tuple[float, float]]
# ``transform(key, y) -> y'`` applied to a layer's output ``y`` (any shape).
Transform = Callable[[str, tf.Tensor], tf.Tensor]


def fake_quant_layers(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """``{key: layer}`` for every layer of ``model`` (nested ones included) whose output
    becomes a quantized tensor in full int8 (``FAKE_QUANT_LAYER_TYPES``). The key is the
    chain of layer names from the model down, e.g. ``stack0_hourglass/b1_0/conv1`` (Keras'
    own ``layer.path`` is unset for layers built inside a subclassed layer)."""
    found: dict[str, keras.layers.Layer] = {}

    def visit(layer: keras.layers.Layer, prefix: str) -> None:
        for child in compat.child_layers(layer):
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


def _separable_call(layer: keras.layers.SeparableConv2D, key: str,
                    transform: Transform) -> Callable[[tf.Tensor], tf.Tensor]:
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


def _transformed_calls(layers: dict[str, keras.layers.Layer], transform: Transform
                       ) -> contextlib.AbstractContextManager[None]:
    """Within the block each layer's output ``y`` is ``transform(key, y)`` (and a separable
    convolution's depthwise result likewise, ``_separable_call``); a layer already wrapped
    (nested blocks) is an error, and leaves every call as it was."""
    replacements = {}
    for key, layer in layers.items():
        forward = (_separable_call(layer, key, transform)
                   if isinstance(layer, keras.layers.SeparableConv2D) else layer.call)

        def call(*args, _key=key, _call=forward, **kwargs):
            return transform(_key, _call(*args, **kwargs))

        replacements[layer] = call
    return compat.replaced_calls(replacements)


def measure_output_ranges(model: keras.Model, crops: np.ndarray, batch_size: int = 16
                          ) -> Ranges:
    """``{key: (min, max)}`` (keys of ``range_keys``) of each fake-quantized tensor over the
    inference-mode forward pass of ``crops (N, S, S, 3)``; a layer called at several places
    (a shared ReLU) gets the range over all of them. Every range includes 0."""
    if len(crops) == 0:
        raise ValueError("measure_output_ranges needs at least one crop")
    ranges: Ranges = {}

    def observe(key: str, y: tf.Tensor) -> tf.Tensor:
        v = np.asarray(y)
        lo, hi = ranges.get(key, (0.0, 0.0))
        ranges[key] = (min(lo, float(v.min())), max(hi, float(v.max())))
        return y

    with _transformed_calls(fake_quant_layers(model), observe):
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

    def quantize(key: str, y: tf.Tensor) -> tf.Tensor:
        lo, hi = ranges[key]
        return tf.quantization.fake_quant_with_min_max_args(y, min=lo, max=hi,
                                                            num_bits=NUM_BITS)

    with _transformed_calls(layers, quantize):
        yield
