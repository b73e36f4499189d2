"""Latency measurements: median wall time of a callable, a ``.tflite`` model's ``invoke``
and a Keras model's forward pass."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def median_ms(fn: Callable[[], Any], warmup: int, runs: int) -> float:
    """Median wall time of ``fn()`` over ``runs`` calls after ``warmup`` untimed ones, ms."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def tflite_interpreter(path: str, threads: int) -> Any:
    """An ``ai_edge_litert`` interpreter of ``path`` with ``threads`` threads, its inputs set
    to fixed random values (uniform in [0, 1) cast to each input's dtype)."""
    from ai_edge_litert.interpreter import Interpreter

    if not os.path.isfile(path):
        raise ValueError(f"no such .tflite file: {path}")
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        x = np.random.default_rng(0).uniform(0, 1, detail["shape"]).astype(detail["dtype"])
        interpreter.set_tensor(detail["index"], x)
    return interpreter


def tflite_latency(path: str, threads: int, warmup: int, runs: int) -> float:
    """Median single-image ``invoke`` time of a ``.tflite`` model, ms."""
    return median_ms(tflite_interpreter(path, threads).invoke, warmup, runs)


_KERAS_FORWARD = """
import os, sys, json
os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
import numpy as np
import tensorflow as tf
threads = int(sys.argv[2])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(1)
from awing_tf.models.face_aligner import load_aligner
from bench.harness.latency import median_ms
model = load_aligner(sys.argv[1])
s = model.input_size
x = tf.constant(np.random.default_rng(0).uniform(0, 1, (1, s, s, 3)), tf.float32)
forward = tf.function(lambda x: model(x, training=False))
print(json.dumps(median_ms(lambda: [o.numpy() for o in forward(x)], int(sys.argv[3]),
                           int(sys.argv[4]))))
"""


def keras_latency(model_path: str, threads: int, warmup: int, runs: int) -> float:
    """Median single-image forward time of a saved FaceAligner (``tf.function``, float32
    input, ``threads`` intra-op threads), ms.

    Runs in a subprocess: TensorFlow's thread pools are fixed at start-up.
    """
    res = subprocess.run([sys.executable, "-c", _KERAS_FORWARD, model_path, str(threads),
                          str(warmup), str(runs)], capture_output=True, text=True, check=True,
                         cwd=REPO)
    return float(res.stdout.strip().splitlines()[-1])
