"""Training callbacks: fault tolerance, checkpoints, logs and heatmap images."""

from __future__ import annotations

import os
import time

import keras
import numpy as np
import tensorflow as tf


class HeatmapImages(keras.callbacks.Callback):
    """Writes a few input images and predicted heatmaps to TensorBoard after each epoch.

    images: ``(N, S, S, 3)`` float32 in [0, 1] (kept small, e.g. N = 3). Each predicted
    sheet shows the max over the landmark channels beside the boundary channel. The model
    is a ``FaceAligner``, which says which channels are which.
    """

    def __init__(self, log_dir: str, images: np.ndarray):
        super().__init__()
        self.images = np.asarray(images, np.float32)
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "heatmaps"))

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        parts = [tf.reduce_max(self.model.landmark_heatmaps(self.images), axis=-1,
                               keepdims=True)]
        boundary = self.model.boundary_heatmap(self.images)
        if boundary is not None:
            parts.append(boundary)
        sheet = tf.clip_by_value(tf.concat(parts, axis=2), 0.0, 1.0)
        with self.writer.as_default():
            tf.summary.image("input", self.images, step=epoch, max_outputs=len(self.images))
            tf.summary.image("predicted_heatmaps", sheet, step=epoch,
                             max_outputs=len(self.images))
        self.writer.flush()


class TimeBudget(keras.callbacks.Callback):
    """Stops ``fit`` once ``minutes`` have passed: at the end of that epoch, or at the end of
    that batch with ``per_batch=True``."""

    def __init__(self, minutes: float, per_batch: bool = False):
        super().__init__()
        if minutes <= 0:
            raise ValueError(f"minutes must be > 0, got {minutes!r}")
        self.seconds = minutes * 60.0
        self.per_batch = per_batch
        self.start = time.monotonic()

    def on_train_begin(self, logs=None) -> None:
        self.start = time.monotonic()

    def _check(self) -> None:
        if time.monotonic() - self.start >= self.seconds:
            self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        if self.per_batch:
            self._check()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self._check()


def make_callbacks(
    out_dir: str,
    chief: bool,
    monitor: str,
    preview_images: np.ndarray | None = None,
) -> list[keras.callbacks.Callback]:
    """BackupAndRestore (resume after a crash from the last finished epoch), best and last
    ``.keras`` checkpoints, TerminateOnNaN, a CSV log and, on the chief, TensorBoard.

    ``out_dir``: the run folder on the chief; on a non-chief worker of a multi-worker run, a
    scratch folder of its own that is stable across restarts (e.g.
    ``model_dir/workers_scratch/worker_1``), so that the workers never write the same files
    and every worker finds its own backup again when the job is restarted. The backup keeps
    the previous state as well (``double_checkpoint``), so a kill during the write of the
    backup still leaves a loadable one.
    """
    os.makedirs(out_dir, exist_ok=True)
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.BackupAndRestore(os.path.join(out_dir, "backup"),
                                         double_checkpoint=True),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ModelCheckpoint(os.path.join(out_dir, "best.keras"), monitor=monitor,
                                        mode="min", save_best_only=True),
        keras.callbacks.ModelCheckpoint(os.path.join(out_dir, "last.keras")),
        keras.callbacks.CSVLogger(os.path.join(out_dir, "log.csv"), append=True),
    ]
    if chief:
        tb_dir = os.path.join(out_dir, "tensorboard")
        callbacks.append(keras.callbacks.TensorBoard(tb_dir, write_graph=False))
        if preview_images is not None and len(preview_images):
            callbacks.append(HeatmapImages(tb_dir, preview_images))
    return callbacks
