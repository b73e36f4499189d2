"""export.calibration: int8 activation ranges measured on the float graph's own tensors."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from export import calibration, tflite  # noqa: E402


def _residual_model() -> keras.Model:
    """Two 1x1 convolutions concatenated, plus a residual 25x larger: the ConvBlock shape
    whose concatenation the converter's calibrator records with the sum's range."""
    keras.utils.set_random_seed(1)
    x = keras.Input((8, 8, 4), batch_size=1)
    a = keras.layers.Conv2D(4, 1, name="branch_a")(x)
    b = keras.layers.Conv2D(4, 1, name="branch_b")(x)
    cat = keras.layers.Concatenate(name="cat")([a, b])
    big = keras.initializers.RandomNormal(stddev=25.0, seed=2)
    residual = keras.layers.Conv2D(8, 1, kernel_initializer=big, name="residual")(x)
    s = keras.layers.Add(name="sum")([cat, residual])
    out = keras.layers.Conv2D(3, 1, name="head")(s)
    return keras.Model(x, [out, cat])


def _converter(model: keras.Model, data: np.ndarray) -> tf.lite.TFLiteConverter:
    fn = tf.function(lambda t: model(t)[0],
                     input_signature=[tf.TensorSpec((1, 8, 8, 4), tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()])
    tflite.configure(converter, "int8", tflite.as_representative_dataset(data))
    return converter


@pytest.fixture(scope="module")
def residual():
    model = _residual_model()
    data = np.random.default_rng(0).normal(size=(12, 8, 8, 4)).astype(np.float32)
    calibrated = calibration.calibrated_float_model(_converter(model, data))
    return model, data, calibrated


def _concat_index(calibrated: bytes) -> int:
    it = Interpreter(model_content=calibrated)
    names = [(d["index"], d["name"]) for d in it.get_tensor_details() if "cat" in d["name"]
             and "concat" in d["name"].lower()]
    assert len(names) == 1, names
    return names[0][0]


def test_measured_range_of_concatenation_is_its_own(residual):
    model, data, calibrated = residual
    _, cat = model.predict(data, batch_size=1, verbose=0)
    want = (min(float(cat.min()), 0.0), max(float(cat.max()), 0.0))
    i = _concat_index(calibrated)
    got = calibration.measure_ranges(calibrated, tflite.as_representative_dataset(data), 100.0)
    np.testing.assert_allclose(got[i], want, rtol=1e-4, atol=1e-4)


def test_converter_records_the_in_place_sum_range_for_the_concatenation(residual):
    """The calibrator problem the module works around (ai-edge / TF 2.21): the concatenation's
    recorded range is that of the residual sum, several times wider than its values."""
    model, data, calibrated = residual
    _, cat = model.predict(data, batch_size=1, verbose=0)
    lo, hi = calibration.recorded_ranges(calibrated)[_concat_index(calibrated)]
    assert (hi - lo) > 3.0 * (cat.max() - cat.min())


def test_measured_ranges_inside_recorded_ones(residual):
    _, data, calibrated = residual
    recorded = calibration.recorded_ranges(calibrated)
    measured = calibration.measure_ranges(calibrated, tflite.as_representative_dataset(data),
                                          100.0)
    assert measured.keys() == recorded.keys()
    for i, (lo, hi) in measured.items():
        assert recorded[i][0] - 1e-4 <= lo <= hi <= recorded[i][1] + 1e-4, i


def test_percentile_clips_inside_but_keeps_graph_input_and_output_exact(residual):
    _, data, calibrated = residual
    ds = tflite.as_representative_dataset(data)
    exact = calibration.measure_ranges(calibrated, ds, 100.0)
    clipped = calibration.measure_ranges(calibrated, ds, 99.0)
    it = Interpreter(model_content=calibrated)
    ends = {it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]}
    narrower = 0
    for i, (lo, hi) in clipped.items():
        if i in ends:
            assert (lo, hi) == exact[i]
        else:
            assert exact[i][0] <= lo <= 0.0 <= hi <= exact[i][1]
            narrower += (hi - lo) < 0.999 * (exact[i][1] - exact[i][0])
    assert narrower >= 2


def test_percentile_range_matches_numpy_percentile(residual):
    model, data, calibrated = residual
    _, cat = model.predict(data, batch_size=1, verbose=0)
    i = _concat_index(calibrated)
    got = calibration.measure_ranges(calibrated, tflite.as_representative_dataset(data),
                                     98.0, bins=4096)[i]
    bin_width = (cat.max() - cat.min()) / 4096
    # between the order statistics around each percentile, to one histogram bin
    for value, q in zip(got, (2.0, 98.0), strict=True):
        below = np.percentile(cat, q, method="lower")
        above = np.percentile(cat, q, method="higher")
        assert below - 1.01 * bin_width <= value <= above + 1.01 * bin_width, (q, value)


def test_measured_ranges_make_the_int8_concatenation_finer(residual):
    """The int8 model's concatenation, dequantised, against Keras' values: with the
    converter's ranges its step is the residual sum's; with measured ranges its own."""
    model, data, _ = residual
    want = model.predict(data, batch_size=1, verbose=0)[1]

    def concat_error(model_bytes: bytes) -> float:
        it = Interpreter(model_content=model_bytes, experimental_preserve_all_tensors=True)
        it.allocate_tensors()
        inp = it.get_input_details()[0]
        [cat] = [d for d in it.get_tensor_details() if "cat" in d["name"]
                 and "concat" in d["name"].lower()]
        assert cat["dtype"] == np.int8
        scale, zero = cat["quantization"]
        got = []
        for x in data:
            it.set_tensor(inp["index"], x[None])
            it.invoke()
            got.append((it.get_tensor(cat["index"])[0].astype(np.float32) - zero) * scale)
        return float(np.sqrt(np.mean((np.stack(got) - want) ** 2)))

    ds = tflite.as_representative_dataset(data)
    converter_ranges = concat_error(_converter(model, data).convert())
    measured = concat_error(calibration.int8_with_measured_ranges(_converter(model, data), ds,
                                                                  100.0))
    assert measured < 0.5 * converter_ranges


def test_with_ranges_round_trip(residual):
    _, _, calibrated = residual
    recorded = calibration.recorded_ranges(calibrated)
    i = next(iter(recorded))
    changed = calibration.with_ranges(calibrated, {i: (-1.5, 2.5)})
    again = calibration.recorded_ranges(changed)
    assert again[i] == pytest.approx((-1.5, 2.5))
    assert all(again[j] == recorded[j] for j in recorded if j != i)
    with pytest.raises(ValueError, match="min"):
        calibration.with_ranges(calibrated, {i: (2.0, 1.0)})


def test_bad_arguments(residual):
    model, data, calibrated = residual
    ds = tflite.as_representative_dataset(data)
    with pytest.raises(ValueError, match="percentile"):
        calibration.measure_ranges(calibrated, ds, 40.0)
    with pytest.raises(ValueError, match="empty"):
        calibration.measure_ranges(calibrated, tflite.as_representative_dataset(data[:0]))
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [tf.function(lambda t: model(t)[0],
                     input_signature=[tf.TensorSpec((1, 8, 8, 4), tf.float32)])
         .get_concrete_function()])
    with pytest.raises(ValueError, match="representative_dataset"):
        calibration.calibrated_float_model(converter)
