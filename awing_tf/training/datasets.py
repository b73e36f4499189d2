"""The training and validation datasets of a run, at its global batch."""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

from awing_tf.config import Config
from awing_tf.data.pipeline import make_dataset
from awing_tf.data.record_validation import shard_counts
from awing_tf.data.shards import count_records
from awing_tf.files import find_files


def make_datasets(
    config: Config,
    train_records: str,
    val_records: str | None = None,
    workers: int = 1,
) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
    """The training and (optional) validation datasets of ``config`` at its global batch,
    with landmark targets that the model's training and test steps encode into heatmaps.

    Datasets are sharded by DATA: with ``workers`` > 1 each worker runs the same pipeline and
    keeps its slice of every global batch, so the union over the workers is exactly the
    single-process global batch; the training pipeline is then made deterministic (seeded
    shuffles, ordered parallel maps), or the workers would slice differently ordered streams.
    The validation dataset declares its number of batches, so Keras knows where an
    evaluation pass ends (without it Keras warns "Your input ran out of data" after the first
    validation pass), counted by the framing scan; with ``on_bad_record=skip`` it may hold
    fewer batches (skipped records), so it declares none.
    """
    batch = config.train.batch_size
    if workers > 1:
        data_cfg = dataclasses.replace(config.data, deterministic=True,
                                       seed=0 if config.data.seed is None else config.data.seed)
        config = dataclasses.replace(config, data=data_cfg)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_ds = make_dataset(train_records, config, training=True)
    train_ds = train_ds.with_options(options)
    if not val_records:
        return train_ds, None
    val_ds = make_dataset(val_records, config, training=False, repeat=False)  # RecordError names a shard with broken framing
    if config.data.on_bad_record != "skip":
        counts = shard_counts(find_files(val_records), skip=False)
        val_batches = math.ceil((count_records(val_records) if -1 in counts
                                 else sum(counts)) / batch)
        val_ds = val_ds.apply(tf.data.experimental.assert_cardinality(val_batches))
    return train_ds, val_ds.with_options(options)
