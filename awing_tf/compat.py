"""Every use of a private Keras or TensorFlow API, in one place.

Written for Keras ``KERAS_VERSION`` and TensorFlow ``TENSORFLOW_VERSION``. Each function
below says which private hook it touches and why no public API does the job.
``missing_hooks()`` lists the hooks this installation lacks; ``tests/test_compat.py`` fails
with that list when an upgrade removes one, so the break shows up there and not deep inside
a training run or an export.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

KERAS_VERSION = "3.15.1"
TENSORFLOW_VERSION = "2.21.0"

# (module, attribute) pairs every hook below needs.
_HOOKS = (
    ("keras.src.backend.tensorflow.trainer", "reduce_per_replica"),
    ("keras.src.backend.tensorflow.trainer", "_collective_all_reduce_multi_worker"),
    ("keras.src.backend.tensorflow.trainer", "TensorFlowTrainer._symbolic_build"),
    ("keras.src.backend.tensorflow.trainer", "TensorFlowTrainer._maybe_symbolic_build"),
    ("keras.src.tree", "map_structure"),
    ("keras.layers", "Layer._flatten_layers"),
    ("tensorflow.lite.python.convert", "mlir_quantize"),
    ("tensorflow.lite.tools.flatbuffer_utils", "read_model_from_bytearray"),
    ("tensorflow.lite.tools.flatbuffer_utils", "convert_object_to_bytearray"),
    ("ai_edge_litert.interpreter", "Interpreter._get_ops_details"),
    ("tensorflow.python.util._pywrap_util_port", "IsMklEnabled"),
)
_CONVERTER_ATTRIBUTE = "_experimental_calibrate_only"


def _resolve(module: str, path: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def missing_hooks() -> list[str]:
    """``module:attribute`` of every private hook this installation does not have."""
    missing = []
    for module, path in _HOOKS:
        try:
            _resolve(module, path)
        except (ImportError, AttributeError):
            missing.append(f"{module}:{path}")
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions([])
    if not hasattr(converter, _CONVERTER_ATTRIBUTE):
        missing.append(f"tf.lite.TFLiteConverter.{_CONVERTER_ATTRIBUTE}")
    return missing


# === Keras trainer (distributed fit) ===


def build_from_element_spec(model: Any, element_spec: object) -> None:
    """Makes ``fit``/``evaluate`` build the model's compiled state from ``element_spec``.

    Under a distribution strategy, Keras' TensorFlow trainer (``_maybe_symbolic_build``)
    builds the metrics, loss and optimizer state from the first batch of the ``fit``/
    ``evaluate`` iterator: it takes that batch out of the stream, so training skips its first
    batch (MirroredStrategy then differs from a single-device run on the same data), and it
    averages the batch across replicas with ``strategy.reduce``, which fails under
    MultiWorkerMirroredStrategy ("Attempt to convert a value (PerReplica...) to a Tensor",
    keras-team/keras#20585). Only shapes and dtypes are needed to build, and a
    ``tf.TensorSpec`` has both, so the dataset's ``element_spec`` is used instead.
    """

    def maybe_symbolic_build(iterator: object = None, data_batch: object = None) -> None:
        del iterator  # never consumed
        with model.distribute_strategy.scope():
            model._symbolic_build(data_batch=element_spec if data_batch is None else data_batch)

    model._maybe_symbolic_build = maybe_symbolic_build


def average_multi_worker_logs() -> None:
    """Makes Keras average losses and metrics over all workers of a multi-worker run.

    Keras' TensorFlow trainer reduces the per-replica step outputs under
    MultiWorkerMirroredStrategy with ``strategy.reduce("MEAN", v, axis=0)``, which fails on
    the scalar losses and metrics ("Invalid reduction dimension 0 for input with 0
    dimensions"; with ``distribute_reduction_method="sum"`` the logs would be summed over
    the replicas instead). This wraps ``reduce_per_replica`` once, process-wide, so that the
    ``auto``/``mean`` reduction of a multi-worker strategy is a plain mean over all replicas
    (``axis=None``); every other case is left to Keras.
    """
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica
    if getattr(original, "_multi_worker_mean_fixed", False):
        return

    def reduce_per_replica(values: object, strategy: Any, reduction: str) -> object:
        if reduction in ("auto", "mean") and \
                tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica._multi_worker_mean_fixed = True
    tf_trainer.reduce_per_replica = reduce_per_replica


# === Keras layers ===


def child_layers(layer: Any, recursive: bool = False) -> list[Any]:
    """The layers inside ``layer`` (not itself): direct children, or all descendants.

    ``Layer._flatten_layers`` is the only walk that sees layers held in attributes and lists
    of a subclassed layer (``ConvBlock.convs``); ``Layer.layers`` exists on models only.
    """
    return list(layer._flatten_layers(include_self=False, recursive=recursive))


@contextlib.contextmanager
def replaced_calls(replacements: dict[Any, Callable[..., Any]]) -> Iterator[None]:
    """Within the block, ``layer.call`` is ``fn`` for each ``{layer: fn}``.

    Keras dispatches ``Layer.__call__`` to the instance's ``call``, so an instance attribute
    changes one layer's forward pass without rebuilding the model (quantization-aware
    fine-tuning wraps outputs this way). A layer whose call is already replaced is an error;
    on the way out (or on that error) every replaced call is removed again.
    """
    done = []
    try:
        for layer, fn in replacements.items():
            if "call" in vars(layer):
                raise ValueError(f"{layer.name}: its call is already wrapped")
            layer.call = fn
            done.append(layer)
        yield
    finally:
        for layer in done:
            del layer.call


# === TensorFlow runtime ===


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN kernels: set by ``TF_ENABLE_ONEDNN_OPTS`` or, by
    default, on CPUs with AVX-512-class features, and decided when TensorFlow loads. No
    public API tells (the start-up log line is the only other sign);
    ``_pywrap_util_port.IsMklEnabled`` is what TensorFlow's own tests ask."""
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


# === TFLite converter ===


@contextlib.contextmanager
def calibrate_only(converter: Any) -> Iterator[Any]:
    """Within the block ``converter.convert()`` returns the float model with the ranges its
    calibrator recorded, without quantizing (the path ``tf.lite.experimental.
    QuantizationDebugger`` takes through the private ``_experimental_calibrate_only``)."""
    setattr(converter, _CONVERTER_ATTRIBUTE, True)
    try:
        yield converter
    finally:
        setattr(converter, _CONVERTER_ATTRIBUTE, False)


def mlir_quantize(calibrated: bytes, **kwargs: Any) -> bytes:
    """``tensorflow.lite.python.convert.mlir_quantize``: the converter's own quantizer applied
    to a calibrated model (no public entry point takes ranges that were edited)."""
    from tensorflow.lite.python import convert

    return convert.mlir_quantize(calibrated, **kwargs)


def read_tflite(model: bytes) -> Any:
    """A ``.tflite`` flatbuffer as TFLite's mutable object tree (``flatbuffer_utils``)."""
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.read_model_from_bytearray(bytearray(model))


def write_tflite(model_t: Any) -> bytes:
    """The inverse of :func:`read_tflite`."""
    from tensorflow.lite.tools import flatbuffer_utils

    return bytes(flatbuffer_utils.convert_object_to_bytearray(model_t))


# === LiteRT interpreter ===


def tflite_op_names(interpreter: Any) -> list[str]:
    """The op names (``CONV_2D``, ``QUANTIZE``...) of an allocated LiteRT ``Interpreter``'s
    graph, in execution order (``Interpreter._get_ops_details``: the public interpreter API
    lists tensors and signatures, not ops)."""
    return [op["op_name"] for op in interpreter._get_ops_details()]
