"""Synthetic face generator: determinism, geometry, drawn features, write/read round trip."""

from __future__ import annotations

import pathlib

import cv2
import numpy as np
import pytest

from awing_tf.schemes import get_scheme
from data_tools import synthetic
from tests.test_records import assert_no_tmp, help_text, read_back, run_cli


def _decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_deterministic_by_seed():
    a = list(synthetic.generate_records(3, "300w68", 128, seed=7))
    b = list(synthetic.generate_records(5, "300w68", 128, seed=7))[:3]
    c = list(synthetic.generate_records(3, "300w68", 128, seed=8))
    for ra, rb in zip(a, b, strict=True):
        assert ra.image_bytes == rb.image_bytes
        np.testing.assert_array_equal(ra.landmarks, rb.landmarks)
        np.testing.assert_array_equal(ra.visible, rb.visible)
    assert a[0].image_bytes != c[0].image_bytes


@pytest.mark.parametrize("scheme", ["300w68", "wflw98", "cofw29"])
def test_templates_match_scheme_and_flip(scheme: str):
    s = get_scheme(scheme)
    pts = synthetic.canonical_landmarks(scheme)
    assert pts.shape == (s.num_points, 3)
    # The neutral template is left-right symmetric: mirroring + the flip permutation is identity.
    mirrored = pts[list(s.flip_permutation)] * np.array([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(mirrored, pts, atol=1e-9)
    assert len(np.unique(np.round(pts[:, :2], 6), axis=0)) == s.num_points


def test_lsp_is_rejected():
    with pytest.raises(ValueError, match="lsp14"):
        next(synthetic.generate_records(1, "lsp14"))


@pytest.mark.parametrize("scheme", ["300w68", "wflw98", "cofw29"])
def test_landmarks_inside_and_box(scheme: str):
    recs = list(synthetic.generate_records(30, scheme, 128, seed=1))
    inside = [np.all((r.landmarks >= 0) & (r.landmarks <= 127)) for r in recs]
    assert np.mean(inside) >= 0.8
    for r in recs:
        assert r.landmarks.shape == (get_scheme(scheme).num_points, 2)
        x1, y1, x2, y2 = r.bbox
        cx, cy = r.landmarks.mean(axis=0)
        assert x1 < cx < x2 and y1 < cy < y2
        assert 0.7 < (x2 - x1) / (y2 - y1) < 1.3
        assert _decode(r.image_bytes).shape == (128, 128, 3)


def test_drawn_features_at_landmarks():
    """The pupil at the eye centre is dark: darker than the cheek skin and than 70 grey."""
    dark, total = 0, 0
    for r in synthetic.generate_records(40, "300w68", 256, seed=3):
        grey = _decode(r.image_bytes).astype(np.float32).mean(axis=2)
        img = cv2.erode(grey, np.ones((3, 3), np.uint8))  # 3x3 minimum: robust to JPEG ringing
        for eye in (range(36, 42), range(42, 48)):
            idx = list(eye)
            if not np.all(r.visible[idx]) or not np.all(r.visible[[2, 31]]):
                continue
            x, y = np.round(r.landmarks[idx].mean(axis=0)).astype(int)
            cx, cy = np.round((r.landmarks[2] + r.landmarks[31]) / 2).astype(int)
            total += 1
            dark += img[y, x] < 70 and img[y, x] < grey[cy, cx] - 10
    assert total > 30
    assert dark / total > 0.9


def test_occluded_points_marked():
    recs = list(synthetic.generate_records(60, "300w68", 128, seed=4))
    fractions = [1 - r.visible.mean() for r in recs]
    assert any(f > 0 for f in fractions)
    assert np.mean([f == 0 for f in fractions]) > 0.4


def test_write_read_round_trip(tmp_path: pathlib.Path):
    summary = synthetic.write_synthetic(str(tmp_path / "s"), 12, "wflw98", 96, num_shards=2,
                                        seed=5, split="train=0.75,val=0.25")
    assert summary.total_written == 12 and summary.total_skipped == 0
    assert_no_tmp(tmp_path)
    recs = read_back(tmp_path / "s_*", 98)
    assert len(recs) == 12
    want = {r.source_id: r for r in synthetic.generate_records(12, "wflw98", 96, seed=5)}
    for r in recs:
        w = want[r["source_id"]]
        np.testing.assert_array_equal(r["landmarks"], w.landmarks)
        np.testing.assert_array_equal(r["visible"], w.visible)
        np.testing.assert_allclose(r["bbox"], w.bbox)
        assert r["image_bytes"][:3] == b"\xff\xd8\xff" and (r["height"], r["width"]) == (96, 96)


def test_cli(tmp_path: pathlib.Path):
    out = help_text("data_tools.synthetic")
    for flag in ("--num", "--scheme", "--output", "--image_size", "--seed", "--num_shards"):
        assert flag in out
    run_cli("data_tools.synthetic", "--num=5", "--scheme=cofw29", f"--output={tmp_path / 's'}",
            "--image_size=64", "--seed=2")
    assert len(read_back(tmp_path / "s-*", 29)) == 5
