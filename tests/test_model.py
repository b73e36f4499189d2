"""The stacked hourglass model: presets, outputs, mixed precision, save/load, training."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import awing_tf
from awing_tf import config as cfg_lib
from awing_tf.codec import HeatmapCodec
from awing_tf.training import compile_for_training, learning_rate_schedule


def test_paper_preset_matches_the_published_network_size(capsys):
    model = awing_tf.build_model(cfg_lib.preset("paper"))
    n = model.count_params()
    print(f"paper preset parameters: {n}")
    # The authors' 4-stack, 256-feature release has 24.2 M parameters.
    assert 23.5e6 < n < 24.5e6
    assert len(model.outputs) == 4
    assert all(tuple(o.shape) == (None, 64, 64, 69) for o in model.outputs)


@pytest.mark.parametrize("name", ["compact", "mobile", "tiny"])
def test_other_presets_build(name):
    c = cfg_lib.preset(name)
    model = awing_tf.build_model(c)
    h = c.model.heatmap_size
    assert len(model.outputs) == c.model.num_stacks
    assert tuple(model.outputs[-1].shape) == (None, h, h, 69)
    print(f"{name} preset parameters: {model.count_params()}")


def test_ablation_switches_change_the_graph():
    base = cfg_lib.preset("tiny")
    no_b = cfg_lib.apply_overrides(base, ["use_boundary=false"])
    m = awing_tf.build_model(no_b)
    assert m.outputs[-1].shape[-1] == 68
    no_cc = cfg_lib.apply_overrides(base, ["model.use_coordconv=false"])
    layers = [type(layer).__name__ for layer in awing_tf.build_model(no_cc).layers]
    assert "CoordConv" not in layers
    full = awing_tf.build_model(base)
    boundary_coord = [layer for layer in full.layers
                      if type(layer).__name__ == "CoordConv" and layer.with_boundary]
    assert len(boundary_coord) == base.model.num_stacks - 1
    no_cb = cfg_lib.apply_overrides(base, ["model.use_boundary_coords=false"])
    assert not any(getattr(layer, "with_boundary", False)
                   for layer in awing_tf.build_model(no_cb).layers)


def _toy_batch(c, n=4, seed=0):
    rng = np.random.default_rng(seed)
    s = c.model.input_size
    lm = rng.uniform(0.25 * s, 0.75 * s, (n, 68, 2)).astype(np.float32)
    x = rng.uniform(0, 1, (n, s, s, 3)).astype(np.float32)
    y = HeatmapCodec(c.spec).encode(lm).numpy()
    return x, tuple([y] * c.model.num_stacks)


def test_mixed_bfloat16_trains_with_float32_heads_and_saves(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        c = cfg_lib.preset("tiny")
        model = awing_tf.build_model(c)
        assert all(o.dtype == "float32" for o in model.outputs)
        assert any(layer.compute_dtype == "bfloat16" for layer in model.layers)
        compile_for_training(model, c, steps_per_epoch=1,
                             optimizer=keras.optimizers.RMSprop(1e-3))
        x, y = _toy_batch(c)
        hist = model.fit(x, y, epochs=4, batch_size=4, verbose=0).history
        assert np.all(np.isfinite(hist["loss"])) and hist["loss"][-1] < hist["loss"][0]
        path = tmp_path / "m.keras"
        model.save(path)
        restored = keras.saving.load_model(path)
        np.testing.assert_allclose(restored.predict(x, verbose=0)[-1],
                                   model.predict(x, verbose=0)[-1], atol=1e-6)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_paper_learning_rate_schedule():
    c = cfg_lib.preset("paper")
    sched = learning_rate_schedule(c, steps_per_epoch=10)
    # 240 epochs: 1e-4, then 1e-5 after epoch 80, 1e-6 after epoch 160.
    for step, lr in [(0, 1e-4), (799, 1e-4), (801, 1e-5), (1601, 1e-6)]:
        assert float(sched(step)) == pytest.approx(lr)


def test_config_overrides_and_errors():
    c = cfg_lib.apply_overrides(cfg_lib.preset("compact"),
                                ["input_size=256", "heatmap_size=64", "train.epochs=3"])
    assert c.model.input_size == c.spec.input_size == 256 and c.train.epochs == 3
    with pytest.raises(ValueError, match="4 x heatmap_size"):
        cfg_lib.apply_overrides(c, ["heatmap_size=32"])
    with pytest.raises(ValueError, match="no config field"):
        cfg_lib.apply_overrides(c, ["nonsense=1"])
    with pytest.raises(ValueError, match="cannot read"):
        cfg_lib.apply_overrides(c, ["model.num_stacks=two"])
    with pytest.raises(ValueError, match="unknown preset"):
        cfg_lib.preset("huge")
    with pytest.raises(TypeError):
        awing_tf.build_model("paper")


def test_face_aligner_predicts_saves_and_restores_its_config(tmp_path):
    model = awing_tf.FaceAligner.from_preset("tiny", scheme="300w68", num_stacks=1)
    x = np.random.default_rng(0).uniform(0, 1, (3, 64, 64, 3)).astype(np.float32)
    lm, scores = model.predict_landmarks(x, return_scores=True)
    assert lm.shape == (3, 68, 2) and scores.shape == (3, 68)
    assert np.all((lm >= -0.5) & (lm <= 63.5))
    path = tmp_path / "aligner.keras"
    model.save(path)
    restored = awing_tf.load_aligner(str(path))
    assert restored.model_config == model.model_config
    np.testing.assert_allclose(restored.predict_landmarks(x), lm, atol=1e-6)
    with pytest.raises(ValueError, match="images must be"):
        model.predict_landmarks(np.zeros((1, 32, 32, 3)))


def test_time_budget_stops_fit():
    from awing_tf.training.callbacks import TimeBudget

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    x = np.zeros((4, 2), np.float32)
    hist = model.fit(x, x[:, :1], epochs=50, verbose=0,
                     callbacks=[TimeBudget(1e-9)]).history
    assert len(hist["loss"]) == 1  # stopped at the end of the first epoch
    hist = model.fit(x, x[:, :1], epochs=50, batch_size=1, verbose=0,
                     callbacks=[TimeBudget(1e-9, per_batch=True)]).history
    assert len(hist["loss"]) == 1
    with pytest.raises(ValueError, match="minutes"):
        TimeBudget(0)


def test_stem_kernel_size_sets_the_stem_convolution():
    base = cfg_lib.preset("tiny")
    for use_coordconv, k in ((True, 3), (False, 5)):
        c = cfg_lib.apply_overrides(base, [f"model.use_coordconv={use_coordconv}",
                                           f"model.stem_kernel_size={k}"])
        model = awing_tf.build_model(c)
        stem = model.get_layer("stem_coordconv" if use_coordconv else "stem_conv")
        kernel = stem.conv.kernel if use_coordconv else stem.kernel
        # x, y, r channels are appended to the RGB input before the CoordConv stem.
        assert tuple(kernel.shape) == (k, k, 6 if use_coordconv else 3,
                                       c.model.num_features // 4)
    with pytest.raises(ValueError, match="stem_kernel_size"):
        awing_tf.build_model(cfg_lib.apply_overrides(base, ["model.stem_kernel_size=4"]))


@pytest.mark.parametrize("early_pool", [False, True])
def test_early_pool_runs_every_stem_block_at_a_quarter_of_the_input(early_pool):
    c = cfg_lib.apply_overrides(cfg_lib.preset("tiny"), [f"model.early_pool={early_pool}"])
    model = awing_tf.build_model(c)
    s, f = c.model.input_size, c.model.num_features
    first = s // 4 if early_pool else s // 2
    assert model.get_layer("stem_block1").output.shape == (None, first, first, f // 2)
    assert model.get_layer("stem_block2").output.shape == (None, s // 4, s // 4, f // 2)
    assert model.count_params() == awing_tf.build_model(cfg_lib.preset("tiny")).count_params()


def test_mobile_preset_is_the_exportable_variant():
    m = cfg_lib.preset("mobile").model
    assert m.post_activation and m.separable and m.stem_kernel_size == 3 and m.early_pool
    assert not cfg_lib.preset("compact").model.early_pool
    assert m.use_boundary and m.use_coordconv and m.input_size == 128
    assert not cfg_lib.preset("paper").model.post_activation
    assert cfg_lib.preset("paper").model.stem_kernel_size == 7


def test_flip_test_heatmaps_are_mirror_symmetric_and_average_the_two_views():
    import tensorflow as tf

    model = awing_tf.FaceAligner.from_preset("tiny", scheme="300w68")
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (2, 64, 64, 3)).astype(np.float32)
    mirrored = x[:, :, ::-1]
    both = model.heatmaps(x, flip_test=True).numpy()
    # The mirrored image's flip-test heatmaps are this image's, mirrored and relabelled.
    perm = list(model.spec.landmark_scheme.flip_permutation) + [68]
    again = model.heatmaps(mirrored, flip_test=True).numpy()[:, :, ::-1][..., perm]
    # float32 rounding of differently batched calls, relative to the heatmaps' scale
    tol = 1e-5 * max(1.0, float(np.abs(both).max()))
    np.testing.assert_allclose(again, both, atol=tol)
    # ... and they are the mean of the plain heatmaps of the two views.
    plain = model.heatmaps(x).numpy()
    other = model.heatmaps(mirrored).numpy()[:, :, ::-1][..., perm]
    np.testing.assert_allclose(both, 0.5 * (plain + other), atol=tol)
    lm = model.predict_landmarks(x, flip_test=True, method="subpixel")
    assert lm.shape == (2, 68, 2) and np.all(np.isfinite(lm))
    # mirror_heatmaps agrees with the codec: the targets of the mirrored, relabelled
    # landmarks (x' = S - 1 - x) map back onto the targets of the landmarks themselves.
    pts = rng.uniform(8, 56, (2, 68, 2)).astype(np.float32)
    flipped = pts[:, perm[:68]] * [-1.0, 1.0] + [63.0, 0.0]
    np.testing.assert_allclose(
        model.mirror_heatmaps(tf.constant(model.codec.encode(flipped))).numpy(),
        model.codec.encode(pts).numpy(), atol=1e-5)


def test_ema_ends_training_with_the_averaged_weights():
    from awing_tf.training.compile import make_optimizer

    cfg = cfg_lib.apply_overrides(cfg_lib.preset("tiny"), ["train.ema_momentum=0.5",
                                                         "train.learning_rate=0.1"])
    opt = make_optimizer(cfg, steps_per_epoch=1)
    assert opt.use_ema and opt.ema_momentum == 0.5
    # y = w x fitted by RMSProp: with EMA the final weight is the average of the path, which
    # lags the raw weight; replay the raw path with a copy and average it by hand.
    x = np.ones((4, 1), np.float32)
    y = np.full((4, 1), 5.0, np.float32)

    def fit(optimizer):
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
            1, use_bias=False, kernel_initializer="zeros")])
        m.compile(optimizer=optimizer, loss="mse", jit_compile=False)
        path = []
        m.fit(x, y, batch_size=4, epochs=6, verbose=0, callbacks=[keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda b, logs: path.append(float(m.weights[0].numpy()[0, 0])))])
        return float(m.weights[0].numpy()[0, 0]), path

    ema_final, _ = fit(make_optimizer(cfg, steps_per_epoch=1))
    raw_cfg = cfg_lib.apply_overrides(cfg, ["train.ema_momentum=0"])
    raw_final, path = fit(make_optimizer(raw_cfg, steps_per_epoch=1))
    average = 0.0  # Keras initialises the average with the first step's weights
    for i, w in enumerate(path):
        average = w if i == 0 else 0.5 * average + 0.5 * w
    assert ema_final == pytest.approx(average, rel=1e-4)
    assert abs(ema_final - raw_final) > 1e-3
    with pytest.raises(ValueError, match="ema_momentum"):
        make_optimizer(cfg_lib.apply_overrides(cfg, ["train.ema_momentum=1.0"]), 1)
