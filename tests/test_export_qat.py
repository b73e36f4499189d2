"""export.qat: fake-quantized layer outputs for quantization-aware fine-tuning."""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from awing_tf.compat import child_layers  # noqa: E402
from awing_tf.models.face_aligner import FaceAligner, load_aligner  # noqa: E402
from export import qat  # noqa: E402
from tests.conftest import REPO  # noqa: E402


def _conv_relu_model() -> tuple[keras.Model, np.ndarray]:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6, 2))
    conv = keras.layers.Conv2D(3, 3, padding="same", name="conv")(inputs)
    model = keras.Model(inputs, keras.layers.ReLU(name="relu")(conv))
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 2)).astype(np.float32)
    return model, x


def test_layers_of_nested_blocks_get_unique_keys():
    model = FaceAligner.from_preset("tiny")
    layers = qat.fake_quant_layers(model)
    inside_coordconv = {id(sub) for layer in child_layers(model, recursive=True)
                        if isinstance(layer, qat.OPAQUE_LAYER_TYPES)
                        for sub in child_layers(layer, recursive=True)}
    every = [layer for layer in child_layers(model, recursive=True)
             if isinstance(layer, qat.FAKE_QUANT_LAYER_TYPES)
             and id(layer) not in inside_coordconv]
    assert len(layers) == len(every) and len({id(v) for v in layers.values()}) == len(every)
    assert "stack0_hourglass/b1_0/conv1" in layers and "heatmaps_1" in layers
    # CoordConv convolves with its conv's kernel without calling it: its own output is
    # the quantized tensor.
    assert "stem_coordconv" in layers and "stem_coordconv/conv" not in layers


@pytest.mark.parametrize("separable", [False, True])
def test_every_fake_quantized_layer_gets_a_range_from_a_forward_pass(separable):
    model = FaceAligner.from_preset("tiny", separable=separable)
    crops = np.random.default_rng(0).uniform(size=(2, 64, 64, 3)).astype(np.float32)
    ranges = qat.measure_output_ranges(model, crops)
    layers = qat.fake_quant_layers(model)
    assert set(ranges) == set(qat.range_keys(layers))
    depthwise = {k for k in ranges if k.endswith("/depthwise")}
    assert len(depthwise) == (sum(isinstance(v, keras.layers.SeparableConv2D)
                                  for v in layers.values()) if separable else 0)
    assert not separable or depthwise


def _separable_model() -> tuple[keras.Model, np.ndarray]:
    keras.utils.set_random_seed(1)
    inputs = keras.Input((8, 8, 3))
    y = keras.layers.SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2,
                                     name="sep")(inputs)
    x = np.random.default_rng(1).normal(size=(3, 8, 8, 3)).astype(np.float32)
    return keras.Model(inputs, y), x


def test_separable_conv_rounds_its_depthwise_result_then_its_output():
    model, x = _separable_model()
    sep = model.get_layer("sep")
    ranges = qat.measure_output_ranges(model, x)
    assert set(ranges) == {"sep", "sep/depthwise"}
    # the depthwise-then-pointwise rewrite computes the layer's own function
    exact = model(x).numpy()
    assert ranges["sep"] == pytest.approx((min(exact.min(), 0), max(exact.max(), 0)), abs=1e-5)
    dw = tf.nn.depthwise_conv2d(x, sep.depthwise_kernel, (1, 2, 2, 1), "SAME").numpy()
    assert ranges["sep/depthwise"] == pytest.approx((min(dw.min(), 0), max(dw.max(), 0)),
                                                    abs=1e-5)

    def fq(v, key):
        lo, hi = ranges[key]
        return tf.quantization.fake_quant_with_min_max_args(v, min=lo, max=hi, num_bits=8)

    want = fq(tf.nn.conv2d(fq(dw, "sep/depthwise"), sep.pointwise_kernel, 1, "VALID")
              + sep.bias, "sep").numpy()
    with qat.fake_quantized(model, ranges):
        got = model(x).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(got - exact).max() > 0  # the rounding did happen
    np.testing.assert_array_equal(model(x).numpy(), exact)  # and is gone after the block


def test_ranges_are_the_layer_outputs_min_and_max():
    model, x = _conv_relu_model()
    ranges = qat.measure_output_ranges(model, x, batch_size=3)
    conv_out = keras.Model(model.inputs, model.get_layer("conv").output).predict(x, verbose=0)
    assert ranges["conv"] == pytest.approx((conv_out.min(), conv_out.max()), abs=1e-6)
    assert ranges["relu"] == pytest.approx((0.0, max(conv_out.max(), 0.0)), abs=1e-6)
    with pytest.raises(ValueError, match="at least one crop"):
        qat.measure_output_ranges(model, x[:0])


def test_fake_quantized_outputs_lie_on_256_levels_then_calls_are_restored():
    model, x = _conv_relu_model()
    ranges = qat.measure_output_ranges(model, x)
    exact = model(x).numpy()
    with qat.fake_quantized(model, ranges):
        quantized = model(x).numpy()
    step_conv = (ranges["conv"][1] - ranges["conv"][0]) / 255
    step_relu = ranges["relu"][1] / 255
    levels = quantized / step_relu
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
    assert len(np.unique(np.round(levels))) <= 256
    assert np.abs(quantized - exact).max() <= step_conv / 2 + step_relu / 2 + 1e-6
    assert np.abs(quantized - exact).max() > 0
    np.testing.assert_array_equal(model(x).numpy(), exact)
    assert all("call" not in vars(layer) for layer in qat.fake_quant_layers(model).values())
    # nesting is refused and leaves the outer block's wrappers in place
    with qat.fake_quantized(model, ranges):
        with pytest.raises(ValueError, match="already wrapped"):
            with qat.fake_quantized(model, ranges):
                pass
        np.testing.assert_array_equal(model(x).numpy(), quantized)
    np.testing.assert_array_equal(model(x).numpy(), exact)


def test_fake_quantized_rejects_missing_ranges_and_non_float32_models():
    model, x = _conv_relu_model()
    ranges = qat.measure_output_ranges(model, x)
    with pytest.raises(ValueError, match="no measured range .*relu"):
        with qat.fake_quantized(model, {"conv": ranges["conv"]}):
            pass
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        bf16 = FaceAligner.from_preset("tiny")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    keys = qat.fake_quant_layers(bf16)
    with pytest.raises(ValueError, match="float32 model"):
        with qat.fake_quantized(bf16, {k: (0.0, 1.0) for k in keys}):
            pass


def test_frozen_batch_norm_restores_the_trainable_flags():
    model = FaceAligner.from_preset("tiny")
    bns = [layer for layer in child_layers(model, recursive=True)
           if isinstance(layer, keras.layers.BatchNormalization)]
    bns[0].trainable = False
    with qat.frozen_batch_norm(model):
        assert not any(bn.trainable for bn in bns)
    assert not bns[0].trainable and all(bn.trainable for bn in bns[1:])


@pytest.mark.large
def test_cli_finetunes_with_frozen_batch_norm(tmp_path):
    from data_tools.synthetic import write_synthetic

    write_synthetic(str(tmp_path / "synth"), 16, image_size=96, seed=4)
    records = str(tmp_path / "synth-*")
    keras.utils.set_random_seed(0)
    model = FaceAligner.from_preset("tiny")
    path, out = tmp_path / "tiny.keras", tmp_path / "qat.keras"
    model.save(path)
    cmd = [sys.executable, "-m", "export.qat", f"--model={path}", f"--train_records={records}",
           f"--representative_records={records}", "--num_calibration=8", "--config=tiny",
           "--epochs=1", "--steps_per_epoch=2", "--batch_size=4", f"--output={out}"]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, text=True)
    tuned = load_aligner(str(out))
    summary = json.loads((tmp_path / "qat.keras.train.json").read_text())
    assert "--epochs=1" in summary["command"] and summary["final_loss"] > 0
    before = {v.path: v.numpy() for v in model.weights}
    after = {v.path: v.numpy() for v in tuned.weights}
    assert before.keys() == after.keys()
    bn_vars = [k for k in before if "bn" in k.split("/")[-2]]
    assert bn_vars and all(np.array_equal(before[k], after[k]) for k in bn_vars)
    conv_vars = [k for k in before if k.endswith("kernel")]
    assert any(not np.array_equal(before[k], after[k]) for k in conv_vars)
    bad = subprocess.run(cmd[:3] + [f"--model={tmp_path / 'missing.keras'}"] + cmd[4:],
                         cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0 and "--model not found" in bad.stderr
