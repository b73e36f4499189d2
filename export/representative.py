"""Representative crops: the data int8 calibration and fake-quantization ranges are set on.

``representative_crops`` reads evaluation crops ``(N, S, S, 3)`` float32 in [0, 1] from
TFRecords (the evaluation pipeline: no augmentation); ``as_representative_dataset`` makes
them the callable the TFLite converter and ``export.calibration`` iterate, one
``[crop (1, S, S, 3) float32]`` at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from awing_tf.config import ModelConfig

# The converter's ``representative_dataset``: a callable returning an iterable of
# ``[crop (1, S, S, 3) float32]``, one list of model inputs per example.
RepresentativeDataset = Callable[[], Iterable[list[np.ndarray]]]


def representative_crops(file_pattern: str, model_config: ModelConfig, num_samples: int = 100,
                         margin: float = 0.0) -> np.ndarray:
    """``(N, S, S, 3)`` float32 evaluation crops (no augmentation) from TFRecords.

    Args:
      file_pattern: TFRecord glob.
      model_config: the model's ``ModelConfig`` (scheme, input size, heatmap geometry).
      num_samples: N, at most; fewer when the records hold fewer faces.
      margin: crop enlargement fraction (the training ``crop_margin``).

    Raises:
      ValueError: naming ``file_pattern`` when it holds no example; ``RecordError`` (a
        ``ValueError``) naming a broken shard or a bad record.
    """
    import tensorflow as tf

    from awing_tf.config import Config, DataConfig
    from awing_tf.data.pipeline import as_record_error, make_dataset

    cfg = Config.for_model(model_config, DataConfig(crop_margin=margin))
    crops = []
    try:
        for images, _ in make_dataset(file_pattern, cfg, training=False, batch_size=16):
            crops.append(images.numpy())
            if sum(len(c) for c in crops) >= num_samples:
                break
    except tf.errors.OpError as err:
        named = as_record_error(err, file_pattern, cfg.spec.num_landmarks)
        if named is None:
            raise
        raise named from None
    if not crops:
        raise ValueError(f"no examples in {file_pattern!r}")
    return np.concatenate(crops)[:num_samples].astype(np.float32)


def as_representative_dataset(crops: np.ndarray) -> RepresentativeDataset:
    """``(N, S, S, 3)`` crops -> the converter's callable yielding one crop at a time."""

    def gen() -> Iterator[list[np.ndarray]]:
        for crop in crops:
            yield [crop[None].astype(np.float32)]

    return gen
