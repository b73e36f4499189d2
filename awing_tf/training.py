"""Optimiser, learning-rate schedule and ``compile`` for training (paper Sec. 7.3)."""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf
from absl import logging

from awing_tf.config import Config
from awing_tf.losses import get_loss
from awing_tf.metrics import NormalizedMeanError


def learning_rate_schedule(
    config: Config, steps_per_epoch: int
) -> keras.optimizers.schedules.LearningRateSchedule | float:
    """Piecewise-constant: ``lr``, then x``lr_decay_factor`` at each fraction of the epochs.

    The paper: 1e-4, 1e-5 after 80 and 1e-6 after 160 of 240 epochs.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    t = config.train
    boundaries = [max(1, int(round(f * t.epochs))) * steps_per_epoch
                  for f in t.lr_decay_fractions]
    values = [t.learning_rate * t.lr_decay_factor**i for i in range(len(boundaries) + 1)]
    if not boundaries:
        return t.learning_rate  # no decay steps: a constant rate
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def make_optimizer(config: Config, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """RMSProp with momentum 0 and weight decay (paper), PyTorch's rho/epsilon defaults."""
    t = config.train
    return keras.optimizers.RMSprop(
        learning_rate=learning_rate_schedule(config, steps_per_epoch),
        rho=0.99,
        momentum=t.momentum,
        epsilon=1e-8,
        weight_decay=t.weight_decay or None,
    )


def make_loss(config: Config, name: str | None = None) -> keras.losses.Loss:
    """The heatmap loss ``name`` (default ``config.train.loss``) with the AWing and weight-map
    parameters of ``config.train``."""
    t = config.train
    name = name or t.loss
    kwargs: dict = {"weight": t.weight_map_weight, "threshold": t.weight_map_threshold}
    if name.startswith("awing"):
        kwargs.update(omega=t.awing_omega, theta=t.awing_theta, epsilon=t.awing_epsilon,
                      alpha=t.awing_alpha)
    return get_loss(name, **kwargs)


def compile_for_training(
    model: keras.Model,
    config: Config,
    steps_per_epoch: int,
    loss: str | keras.losses.Loss | None = None,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """Compiles ``model`` with one loss per stack output (intermediate supervision) and the
    NME metric on the last stack. XLA stays off: it measured slower on CPU here."""
    num_outputs = len(model.outputs)
    loss_obj = loss if isinstance(loss, keras.losses.Loss) else make_loss(config, loss)
    metrics = [[] for _ in range(num_outputs - 1)]
    metrics.append([NormalizedMeanError(scheme=config.model.scheme)])
    model.compile(
        optimizer=optimizer or make_optimizer(config, steps_per_epoch),
        loss=[loss_obj] * num_outputs,
        metrics=metrics,
        jit_compile=False,
    )
    return model


# === Precision and distribution ===

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")


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


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """A ``tf.distribute`` strategy by name.

    ``auto``: MultiWorkerMirroredStrategy when ``TF_CONFIG`` names more than one worker,
    MirroredStrategy when several GPUs are visible, otherwise the default strategy.
    """
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")
    if name == "auto":
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
        if workers > 1:
            name = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        # MirroredStrategy() alone uses the GPUs or else one CPU: on a CPU-only host, mirror
        # over the logical CPU devices (tf.config.set_logical_device_configuration).
        gpus = tf.config.list_logical_devices("GPU")
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """Number of worker processes (chief included) of ``strategy``'s cluster; 1 if local."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(1, len(spec.get("worker", [])) + len(spec.get("chief", [])))


def worker_name(strategy: tf.distribute.Strategy) -> str:
    """A name for this process that is stable across restarts, e.g. ``worker_1``."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "local"
    return f"{resolver.task_type}_{resolver.task_id}"


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints and logs (worker 0 or the chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )


def find_files(file_pattern: str | list[str]) -> list[str]:
    """Sorted files matching the glob(s) ``file_pattern`` (possibly empty)."""
    patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
    return sorted({f for p in patterns for f in tf.io.gfile.glob(p)})


def count_records(file_pattern: str | list[str]) -> int:
    """Number of serialized records in the files matching ``file_pattern``.

    Raises ``ValueError`` naming the pattern when it matches no files.
    """
    files = find_files(file_pattern)
    if not files:
        raise ValueError(f"no TFRecord files match {file_pattern!r}")
    return int(tf.data.TFRecordDataset(files).reduce(0, lambda n, _: n + 1))
