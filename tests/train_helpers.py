"""Training runs that the distributed-training tests launch as subprocesses.

A strategy has to be chosen before TensorFlow initialises (``TF_CONFIG`` for
MultiWorkerMirroredStrategy, logical CPU devices for MirroredStrategy), so every run gets a
fresh process::

    python -m tests.train_helpers '{"train_records": ..., "model_dir": ..., "out": ...}'

The one argument is a JSON object (see :func:`run`). The run trains the ``tiny`` preset with
``awing_tf.training.loop.train`` on deterministic data, records the loss after every batch and the
fingerprints of the examples this process is fed, and writes them as JSON to ``out``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tiny_config(epochs: int, batch_size: int) -> Any:
    """The ``tiny`` preset cut to one stack with a one-level hourglass (half the layers, so
    half the graph tracing that dominates these short runs), in float32 with a deterministic
    input pipeline."""
    from awing_tf import config as config_lib

    cfg = config_lib.preset("tiny")
    return config_lib.apply_overrides(cfg, [
        "model.num_stacks=1", "model.hourglass_depth=1",
        f"train.epochs={epochs}", f"batch_size={batch_size}", "train.precision=float32",
        "data.deterministic=True", "data.seed=0", "train.seed=0",
    ])


def batch_fingerprints(images: Any) -> list[float]:
    """One number per example of an image batch: the sum of its pixels."""
    import numpy as np

    return [float(v) for v in np.asarray(images, np.float64).reshape(len(images), -1).sum(1)]


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Trains as ``spec`` says and returns what the tests compare.

    spec keys: ``train_records``, ``model_dir``, ``steps`` (per epoch), ``epochs``,
    ``batch_size`` (global), ``strategy`` (``default``, ``mirrored``, ``multi_worker``),
    optional ``val_records``, ``logical_cpus`` (split the CPU into this many logical devices
    first) and ``fingerprint_batches`` (how many input batches to fingerprint).
    """
    import tensorflow as tf

    if spec.get("logical_cpus"):
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * int(spec["logical_cpus"]))

    import keras

    keras.config.disable_traceback_filtering()

    from awing_tf.training import loop as trainer
    from awing_tf.training.distribute import is_chief, num_workers

    class LossRecorder(keras.callbacks.Callback):
        """Keeps the running training loss that Keras reports after each batch."""

        def __init__(self) -> None:
            super().__init__()
            self.losses: list[float] = []

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.losses.append(float((logs or {})["loss"]))

    cfg = tiny_config(spec["epochs"], spec["batch_size"])
    recorder = LossRecorder()
    model, history = trainer.train(
        cfg, spec["train_records"], spec["model_dir"], spec.get("val_records"),
        strategy=spec["strategy"], verbose=0, steps_per_epoch=spec["steps"],
        callbacks=[recorder],
    )
    strategy = model.distribute_strategy
    workers = num_workers(strategy)
    from awing_tf.training.datasets import make_datasets

    train_ds, _ = make_datasets(cfg, spec["train_records"], None, workers)
    fingerprints = []
    batches = iter(strategy.experimental_distribute_dataset(train_ds))
    for _ in range(int(spec.get("fingerprint_batches", 2))):
        images = next(batches)[0]
        local = [t.numpy() for t in strategy.experimental_local_results(images)]
        fingerprints.append([v for part in local for v in batch_fingerprints(part)])
    return {
        "batch_losses": recorder.losses,
        "history": {k: [float(x) for x in v] for k, v in history.items()},
        "replicas": int(strategy.num_replicas_in_sync),
        "workers": workers,
        "chief": bool(is_chief(strategy)),
        "fingerprints": fingerprints,
    }


def main(argv: list[str]) -> int:
    """Entry point: ``argv[1]`` is the JSON spec; the result goes to ``spec['out']``."""
    spec = json.loads(argv[1])
    result = run(spec)
    with open(spec["out"], "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
