"""Activation ranges for full-int8 TFLite, measured on every tensor of the float graph.

TFLite's calibrator records each op's input and output ranges right after the op runs. When
an op runs in place (an ``ADD`` writing its result over its first input, as the residual add
after a ConvBlock's concatenation does), the recorded "input" is already the op's output:
the concatenation is given the residual sum's range. In the trained ``compact`` and
``mobile`` models those concatenations get ranges 5-9x wider than their values, so the
features they carry lose about 3 of their 8 bits (BUILD_NOTES.md, Export).

Here the converter only calibrates (its float model with recorded ranges), the calibrated
model is run again with every tensor preserved (no buffer is shared, so nothing is
overwritten), each activation's range is measured on its own values — optionally clipped to
a percentile, except the graph's input and output, which keep their exact ranges — and the
model is quantized by the converter's own quantizer with those ranges. It is the path
``tf.lite.experimental.QuantizationDebugger`` takes (calibrate only, then
``mlir_quantize``), with the ranges corrected in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from awing_tf import compat
from export.representative import RepresentativeDataset

if TYPE_CHECKING:
    import tensorflow as tf

DEFAULT_PERCENTILE = 99.99
HISTOGRAM_BINS = 8192


def calibrated_float_model(converter: tf.lite.TFLiteConverter) -> bytes:
    """The converter's float model with its recorded activation ranges (no quantization).

    ``converter`` must already be configured for int8 (optimizations and a
    ``representative_dataset``).
    """
    if converter.representative_dataset is None:
        raise ValueError("the converter needs a representative_dataset to calibrate")
    with compat.calibrate_only(converter):
        return converter.convert()


def _range_tensors(model_t) -> list[int]:
    """Indices of subgraph 0's tensors that carry a recorded (per-tensor) range."""
    tensors = model_t.subgraphs[0].tensors
    return [i for i, t in enumerate(tensors)
            if t.quantization is not None and t.quantization.min is not None
            and len(t.quantization.min) == 1]


def measure_ranges(calibrated: bytes, representative_dataset: RepresentativeDataset,
                   percentile: float = DEFAULT_PERCENTILE,
                   bins: int = HISTOGRAM_BINS) -> dict[int, tuple[float, float]]:
    """``{tensor index: (min, max)}`` of every ranged tensor, measured on the dataset.

    Args:
      calibrated: a calibrated float model (``calibrated_float_model``).
      representative_dataset: the converter's callable yielding ``[input array]``.
      percentile: in (50, 100]. 100 gives the exact min and max over the dataset. Below
        100: ``(percentile(100 - p), percentile(p))`` over all of the tensor's values in
        the dataset, read from a ``bins``-bin histogram between the exact min and max (a
        second pass over the dataset; deterministic, memory independent of the dataset),
        widened to include 0. The graph's inputs and outputs keep their exact ranges.

    Returns:
      The ranges, keyed by tensor index of subgraph 0.
    """
    if not 50.0 < percentile <= 100.0:
        raise ValueError(f"percentile must be in (50, 100], got {percentile}")
    model_t = compat.read_tflite(calibrated)
    indices = _range_tensors(model_t)
    if not indices:
        raise ValueError("the model has no recorded activation ranges; calibrate it first")
    graph = model_t.subgraphs[0]
    exact_only = set(int(i) for i in graph.inputs) | set(int(i) for i in graph.outputs)
    lo = {i: np.inf for i in indices}
    hi = {i: -np.inf for i in indices}
    for tensors in _tensor_values(calibrated, representative_dataset, indices):
        for i, v in tensors.items():
            lo[i] = min(lo[i], float(v.min()))
            hi[i] = max(hi[i], float(v.max()))
    clipped = [i for i in indices if percentile < 100.0 and i not in exact_only]
    if clipped:
        counts = {i: np.zeros(bins, np.int64) for i in clipped}
        for tensors in _tensor_values(calibrated, representative_dataset, clipped):
            for i, v in tensors.items():
                width = (hi[i] - lo[i]) or 1.0
                k = np.clip(((v - lo[i]) * (bins / width)).astype(np.int64), 0, bins - 1)
                counts[i] += np.bincount(k, minlength=bins)
        for i in clipped:
            cdf = np.cumsum(counts[i]) / counts[i].sum()
            width = (hi[i] - lo[i]) / bins
            q = 1.0 - percentile / 100.0
            low_bin = int(np.searchsorted(cdf, q, side="right"))
            high_bin = int(np.searchsorted(cdf, 1.0 - q, side="left"))
            lo[i], hi[i] = lo[i] + low_bin * width, lo[i] + (high_bin + 1) * width
    return {i: (min(lo[i], 0.0), max(hi[i], 0.0)) for i in indices}


def _tensor_values(calibrated: bytes, representative_dataset: RepresentativeDataset,
                   indices: list[int]) -> Iterator[dict[int, np.ndarray]]:
    """For each dataset example, ``{index: flat float values}`` of the given tensors, from
    an interpreter that keeps every tensor (no buffer reuse, no in-place op)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    count = 0
    for example in representative_dataset():
        if len(example) != len(inputs):
            raise ValueError(f"the representative dataset gives {len(example)} inputs, the "
                             f"model takes {len(inputs)}")
        for detail, value in zip(inputs, example, strict=True):
            interpreter.set_tensor(detail["index"], np.asarray(value, detail["dtype"]))
        interpreter.invoke()
        count += 1
        yield {i: interpreter.get_tensor(i).ravel() for i in indices}
    if count == 0:
        raise ValueError("the representative dataset is empty")


def recorded_ranges(calibrated: bytes) -> dict[int, tuple[float, float]]:
    """``{tensor index: (min, max)}`` as the converter's calibrator recorded them."""
    model_t = compat.read_tflite(calibrated)
    tensors = model_t.subgraphs[0].tensors
    return {i: (float(tensors[i].quantization.min[0]), float(tensors[i].quantization.max[0]))
            for i in _range_tensors(model_t)}


def with_ranges(calibrated: bytes, ranges: dict[int, tuple[float, float]]) -> bytes:
    """The calibrated model with the given tensors' recorded ranges replaced."""
    model_t = compat.read_tflite(calibrated)
    tensors = model_t.subgraphs[0].tensors
    for i, (a, b) in ranges.items():
        if not a <= b:
            raise ValueError(f"tensor {i}: range min {a} > max {b}")
        tensors[i].quantization.min = [float(a)]
        tensors[i].quantization.max = [float(b)]
    return compat.write_tflite(model_t)


def quantize(calibrated: bytes, denylisted_nodes: list[str] | None = None,
             denylisted_ops: list[str] | None = None, numeric_verify: bool = False) -> bytes:
    """Full int8 (per-channel weights, float32 input and output) from a calibrated model;
    denylisted tensors / op names stay float. ``numeric_verify`` builds the quantization
    debugger's model instead (a NumericVerify op beside every quantized op)."""
    return compat.mlir_quantize(calibrated, fully_quantize=False,
                                enable_numeric_verify=numeric_verify,
                                denylisted_nodes=denylisted_nodes or None,
                                denylisted_ops=denylisted_ops or None)


def int8_with_measured_ranges(converter: tf.lite.TFLiteConverter,
                              representative_dataset: RepresentativeDataset,
                              percentile: float = DEFAULT_PERCENTILE,
                              denylisted_nodes: list[str] | None = None,
                              denylisted_ops: list[str] | None = None,
                              calibrated: bytes | None = None) -> bytes:
    """Calibrate with the converter (unless ``calibrated`` is given), re-measure every range,
    quantize: ``.tflite`` bytes."""
    calibrated = calibrated or calibrated_float_model(converter)
    ranges = measure_ranges(calibrated, representative_dataset, percentile)
    return quantize(with_ranges(calibrated, ranges), denylisted_nodes, denylisted_ops)
