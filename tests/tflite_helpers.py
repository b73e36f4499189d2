"""Converting one Keras layer to float32 TFLite in tests: its op names and its output."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from awing_tf.compat import tflite_op_names


def run_layer_in_tflite(layer, x: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Converts ``layer(t, training=False)`` for inputs shaped like ``x`` (a float32 batch)
    and returns ``(op names of the TFLite graph, its output for x)``."""
    from ai_edge_litert.interpreter import Interpreter

    fn = tf.function(lambda t: layer(t, training=False),
                     input_signature=[tf.TensorSpec(x.shape, tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()])
    interpreter = Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    ops = tflite_op_names(interpreter)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return ops, interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
