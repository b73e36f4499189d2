"""Heatmap targets built inside the training step equal the pipeline-built targets: the same
loss, metric and update on one batch (float32, augmentation off), with the run's sigmas; the
blur and noise the step applies equal what the pipeline applies for heatmap targets."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from awing_tf import config as config_lib
from awing_tf.codec import HeatmapCodec
from awing_tf.data.pipeline import make_dataset
from awing_tf.models.face_aligner import FaceAligner
from awing_tf.training.compile import compile_for_training
from data_tools.records import make_example
from data_tools.synthetic import generate_records

BATCH = 4


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("step_targets") / "faces-00000-of-00001.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in generate_records(BATCH, image_size=96, seed=3):
            writer.write(make_example(record).SerializeToString())
    return str(path)


def _config(*overrides: str) -> config_lib.Config:
    """``tiny`` (two stacks, one-level hourglasses: quick to trace) in float32 with every
    augmentation off and non-default target sigmas, so a step that used the model's default
    codec instead of the run's would differ."""
    return config_lib.apply_overrides(config_lib.preset("tiny"), [
        f"batch_size={BATCH}", "train.precision=float32", "data.deterministic=True",
        "data.seed=0", "data.rotation_degrees=0", "data.translation_fraction=0",
        "data.scale_range=0", "data.flip_probability=0", "data.blur_probability=0",
        "data.noise_probability=0", "data.occlusion_probability=0", "data.sigma=2.0",
        "data.boundary_sigma=1.5", "model.hourglass_depth=1", *overrides,
    ])


def _model(cfg: config_lib.Config, weights=None) -> FaceAligner:
    tf.keras.utils.set_random_seed(0)
    model = FaceAligner(cfg.model)
    if weights is not None:
        model.set_weights(weights)
    compile_for_training(model, cfg, steps_per_epoch=1)
    model.run_eagerly = True  # the same step, without tracing it for one batch
    return model


def _batches(records: str, cfg: config_lib.Config):
    old = next(iter(make_dataset(records, cfg, training=True, targets="heatmaps")))
    new = next(iter(make_dataset(records, cfg, training=True)))
    return old, new


def test_compiled_model_encodes_with_the_runs_codec(records: str) -> None:
    cfg = _config()
    model = _model(cfg)
    assert (model.target_codec.sigma, model.target_codec.boundary_sigma) == (2.0, 1.5)
    (_, old_targets), (_, y) = _batches(records, cfg)
    step_targets = model.heatmap_targets(y["landmarks"], y["visible"])
    assert len(step_targets) == cfg.model.num_stacks
    np.testing.assert_allclose(step_targets[-1], old_targets[-1], atol=1e-6)
    # the paper's sigma would give other targets: the comparison above can fail
    paper = HeatmapCodec(cfg.spec).encode(y["landmarks"], y["visible"])
    assert np.abs(paper - old_targets[-1]).max() > 0.05


def test_loss_metric_and_update_equal_the_pipeline_targets_path(records: str) -> None:
    cfg = _config()
    (x_old, y_old), (x_new, y_new) = _batches(records, cfg)
    np.testing.assert_array_equal(x_old, x_new)
    old, new = _model(cfg), None
    new = _model(cfg, old.get_weights())
    eval_old = old.test_on_batch(x_old, list(y_old), return_dict=True)
    eval_new = new.test_on_batch(x_new, y_new, return_dict=True)
    assert set(eval_new) == set(eval_old) and any(k.endswith("nme") for k in eval_old)
    for key, value in eval_old.items():  # total and per-stack losses, the NME metric
        assert eval_new[key] == pytest.approx(value, abs=1e-5, rel=1e-5), key
    train_old = old.train_on_batch(x_old, list(y_old), return_dict=True)
    train_new = new.train_on_batch(x_new, y_new, return_dict=True)
    assert train_new["loss"] == pytest.approx(train_old["loss"], abs=1e-5, rel=1e-5)
    for a, b in zip(old.get_weights(), new.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    moved = max(np.abs(a - b).max() for a, b in zip(
        old.get_weights(), _model(cfg).get_weights(), strict=True))
    assert moved > 1e-6  # the step changed the weights, so equal weights mean equal updates


def test_step_blurs_and_noises_as_the_pipeline_would(records: str) -> None:
    cfg = _config("data.blur_probability=1.0", "data.noise_probability=1.0")
    model = _model(cfg)
    x, y = next(iter(make_dataset(records, cfg, training=True)))
    assert set(y) == {"landmarks", "visible", "blur_sigma", "noise_stddev", "photometric_seed"}
    assert (y["blur_sigma"].numpy() >= 0.5).all()
    assert np.allclose(y["noise_stddev"], 0.03)
    stepped, targets = model.step_batch((x, y))
    assert len(targets) == cfg.model.num_stacks and targets[0].shape[-1] == 69
    assert np.abs(stepped.numpy() - x.numpy()).max() > 0.01
    pipeline_augmented, _ = next(iter(make_dataset(records, cfg, training=True,
                                                   targets="heatmaps")))
    np.testing.assert_allclose(stepped, pipeline_augmented, atol=1e-6)
