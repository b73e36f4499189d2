"""``tf.distribute`` strategies by name, and where this process stands in its cluster."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from awing_tf.choices import STRATEGIES


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
