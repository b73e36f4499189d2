"""Machine settings of a run: TensorFlow's thread pools and the dtype policy."""

from __future__ import annotations

import tensorflow as tf
from absl import logging

from awing_tf.choices import PRECISIONS


def configure_threads(inter_op: int = 0, intra_op: int = 0) -> bool:
    """Sets TensorFlow's inter-op and intra-op thread pools (0 = TensorFlow's default).

    Must run before TensorFlow executes its first op; afterwards the pools are fixed and this
    returns False (with a log line) unless they already have the requested sizes.
    """
    for name, value in (("inter_op", inter_op), ("intra_op", intra_op)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name}_threads must be an integer >= 0, got {value!r}")
    wanted = (inter_op, intra_op)
    current = (tf.config.threading.get_inter_op_parallelism_threads(),
               tf.config.threading.get_intra_op_parallelism_threads())
    if current == wanted:
        return True
    try:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    except RuntimeError:
        logging.info("TensorFlow is already running: thread pools stay inter_op=%d "
                     "intra_op=%d (requested %d, %d)", *current, *wanted)
        return False
    return True


def cpu_has_bf16() -> bool:
    """True where the CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX-BF16)."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str) -> str:
    """Maps ``auto`` to a concrete Keras dtype policy name for this machine.

    GPUs of compute capability >= 8 and CPUs with AVX512-BF16/AMX get ``mixed_bfloat16``,
    older GPUs ``mixed_float16``, anything else ``float32``.
    """
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {name!r}")
    if name != "auto":
        return name
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        return "mixed_bfloat16" if cc and cc >= (8, 0) else "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"
