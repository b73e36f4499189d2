"""Quantization-aware fine-tuning: training a float model with fake-quantized activations.

The model trains with the loss, augmentation and optimizer of a config preset while every
activation is rounded as full int8 will round it (``export.qat.fake_quant``) and every
BatchNorm is frozen; the weights learn to tolerate the rounding. The result is an ordinary
float ``FaceAligner`` that ``export.tflite`` converts with its usual post-training int8 path
(which measures its ranges again).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import keras
import numpy as np
from absl import logging

from awing_tf import compat
from awing_tf.config import Config
from export.qat.fake_quant import fake_quantized, measure_output_ranges


@contextlib.contextmanager
def frozen_batch_norm(model: keras.Model) -> Iterator[None]:
    """Within the block every BatchNormalization is non-trainable (inference statistics,
    fixed gamma and beta); the previous ``trainable`` flags are restored after."""
    bns = [layer for layer in compat.child_layers(model, recursive=True)
           if isinstance(layer, keras.layers.BatchNormalization)]
    before = [bn.trainable for bn in bns]
    for bn in bns:
        bn.trainable = False
    try:
        yield
    finally:
        for bn, flag in zip(bns, before, strict=True):
            bn.trainable = flag


def finetune(model: keras.Model, config: Config, train_records: str, crops: np.ndarray,
             steps_per_epoch: int, verbose: str | int = "auto") -> dict:
    """Fine-tunes ``model`` in place for ``config.train.epochs`` epochs of
    ``steps_per_epoch`` steps on ``train_records`` (the training pipeline and loss of
    ``config``) with fake-quantized activations, ranges measured on ``crops (N, S, S, 3)``,
    BatchNorm frozen. Returns the Keras history (``{metric: [value per epoch]}``)."""
    from awing_tf.training.compile import compile_for_training
    from awing_tf.training.datasets import make_datasets

    mc = model.model_config
    if config.spec != mc.spec:
        raise ValueError(f"config {config.name!r} does not match the model: "
                         f"{config.model} vs {mc}")
    ranges = measure_output_ranges(model, crops)
    logging.info("fake-quantizing %d layer outputs", len(ranges))
    train_ds, _ = make_datasets(config, train_records)
    with frozen_batch_norm(model):
        compile_for_training(model, config, steps_per_epoch)
        with fake_quantized(model, ranges):
            history = model.fit(train_ds, epochs=config.train.epochs,
                                steps_per_epoch=steps_per_epoch, verbose=verbose)
    return history.history


def config_for_model(model: keras.Model, base: Config) -> Config:
    """``base``'s training and augmentation settings with the model's architecture and
    heatmap geometry."""
    return dataclasses.replace(base, model=model.model_config)
