"""bench/tflite_latency.py: paired ratios and argument checks (no model is run)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.tflite_latency import main, paired_summary, parse_models


def test_paired_ratio_cancels_a_shared_slowdown():
    # The machine is twice as slow in the second half; model a is always 0.8x of b.
    b = [0.010] * 5 + [0.020] * 6
    a = [0.8 * t for t in b]
    got = paired_summary({"a": a, "b": b}, "b")
    assert got["a"]["median_ratio_to_reference"] == pytest.approx(0.8)
    assert got["b"]["median_ratio_to_reference"] == pytest.approx(1.0)
    assert got["a"]["median_ms"] == pytest.approx(16.0)
    assert got["a"]["min_ms"] == pytest.approx(8.0)
    assert got["b"]["p10_ms"] == pytest.approx(float(np.percentile(np.array(b) * 1000, 10)))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="reference 'c'"):
        paired_summary({"a": [1.0], "b": [1.0]}, "c")
    with pytest.raises(ValueError, match="same, non-zero number"):
        paired_summary({"a": [1.0, 2.0], "b": [1.0]}, "b")
    with pytest.raises(ValueError, match="NAME=PATH, got 'x.tflite'"):
        parse_models(["x.tflite"])
    with pytest.raises(ValueError, match="given twice"):
        parse_models(["a=x.tflite", "a=y.tflite"])
    assert list(parse_models(["b=1.tflite", "a=2.tflite"])) == ["b", "a"]
    with pytest.raises(SystemExit):
        main(["a=x.tflite", "--reference=z"])
