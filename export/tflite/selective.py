"""Selective int8: chosen TFLite tensors, ops or whole Keras layers left in float.

A converted op's output tensor is named after the Keras layer path it came from
(``face_aligner_1/heatmaps_1_1/convolution1``; fused ops join several paths with ``;``), so a
Keras layer name selects the tensors it produced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import tensorflow as tf

from awing_tf import compat
from export.representative import RepresentativeDataset

if TYPE_CHECKING:
    from awing_tf.models.face_aligner import FaceAligner


def check_float_layers(model: FaceAligner, layers: Iterable[str]) -> None:
    """ValueError naming a requested layer that ``model`` (top level) does not have."""
    names = {layer.name for layer in model.layers}
    for name in layers:
        if name not in names:
            raise ValueError(f"float_layers: the model has no layer {name!r}")


def layer_tensor_names(tflite_model: bytes, layers: Iterable[str]) -> list[str]:
    """Names of the op outputs of ``tflite_model`` that the Keras ``layers`` produced.

    A layer matches a path segment of a tensor name equal to its name, optionally with the
    ``_N`` suffix tracing adds. Raises ValueError naming a layer that produced no op.
    """
    graph = compat.read_tflite(tflite_model).subgraphs[0]
    outputs = [graph.tensors[i].name.decode() for op in graph.operators for i in op.outputs]
    found = []
    for layer in layers:
        pattern = re.compile(rf"(^|/){re.escape(layer)}(_\d+)?/")
        names = [n for n in outputs if pattern.search(n)]
        if not names:
            raise ValueError(f"float_layers: layer {layer!r} produced no op in the TFLite graph")
        found.extend(n for n in names if n not in found)
    return found


def selective_int8(converter: tf.lite.TFLiteConverter,
                   representative_dataset: RepresentativeDataset,
                   denylisted_nodes: list[str], denylisted_ops: list[str]) -> bytes:
    """Full int8 except the denylisted tensors / ops, which stay float32 (the converter's
    recorded ranges, through the quantization debugger).

    ``converter`` is configured for int8 (``configure``); the result is ``.tflite`` bytes.
    """
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                           tf.lite.OpsSet.TFLITE_BUILTINS]
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_nodes=denylisted_nodes, denylisted_ops=denylisted_ops)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=representative_dataset, debug_options=options)
    return debugger.get_nondebug_quantized_model()
