"""The detector-box -> landmark-box mapping: its geometry, its fit and the shipped file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from awing_tf.inference.box_mapping import MAPPINGS_FILE, BoxMapping, mapping_for


def test_apply_moves_the_centre_and_scales_the_sides_by_hand():
    m = BoxMapping(dx=0.1, dy=-0.2, sw=1.5, sh=0.5)
    # box 100x50 centred at (150, 125): centre -> (160, 115), sides -> 150 x 25
    got = m.apply(np.array([[100.0, 100.0, 200.0, 150.0]]))
    np.testing.assert_allclose(got, [[85.0, 102.5, 235.0, 127.5]], atol=1e-4)
    np.testing.assert_allclose(BoxMapping().apply([[1, 2, 3, 5]]), [[1, 2, 3, 5]])


def test_fit_recovers_a_known_mapping_despite_outliers():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 300, (200, 2))
    side = rng.uniform(30, 120, (200, 1))
    det = np.concatenate([xy, xy + side * rng.uniform(0.9, 1.1, (200, 2))], axis=1)
    true = BoxMapping(dx=0.02, dy=0.11, sw=1.18, sh=0.93)
    target = true.apply(det).astype(np.float64)
    target[:10] += rng.uniform(-50, 50, (10, 4))  # a few poor detections
    fitted = BoxMapping.fit(det, target)
    for name in ("dx", "dy", "sw", "sh"):
        assert getattr(fitted, name) == pytest.approx(getattr(true, name), abs=0.01), name


def test_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="matching non-empty"):
        BoxMapping.fit(np.zeros((0, 4)), np.zeros((0, 4)))
    with pytest.raises(ValueError, match="positive width"):
        BoxMapping.fit(np.array([[5.0, 5, 5, 9]]), np.array([[1.0, 1, 2, 2]]))


def test_shipped_mappings_are_plausible_and_unknown_detectors_get_the_identity(tmp_path):
    data = json.loads(open(MAPPINGS_FILE).read())
    for name, entry in data["mappings"].items():
        m = mapping_for(name)
        assert m == BoxMapping(**entry)
        # a face detector's box and the landmark box are the same face: no wild correction
        assert abs(m.dx) < 0.3 and abs(m.dy) < 0.3 and 0.5 < m.sw < 2 and 0.5 < m.sh < 2
    assert {"blazeface_short", "blazeface_full", "haar"} <= set(data["mappings"])
    assert mapping_for("no_such_detector") == BoxMapping()
    assert mapping_for("blazeface_short", str(tmp_path / "missing.json")) == BoxMapping()
