"""Synthetic face generator: determinism, geometry, drawn features, write/read round trip."""

from __future__ import annotations

import pathlib

import cv2
import numpy as np
import pytest

from awing_tf.schemes import get_scheme
from data_tools import synthetic
from data_tools.synthetic.render import render_face_at
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
    for flag in ("--num", "--scheme", "--output", "--image_size", "--seed", "--num_shards",
                 "--max_pitch_degrees"):
        assert flag in out
    run_cli("data_tools.synthetic", "--num=5", "--scheme=cofw29", f"--output={tmp_path / 's'}",
            "--image_size=64", "--seed=2")
    assert len(read_back(tmp_path / "s-*", 29)) == 5


# --- pitch ---

def _yaw_roll_formula(pts: np.ndarray, pose) -> np.ndarray:
    """The projection without pitch, written out: yaw (orthographic), roll, scale, shift."""
    x = pts[:, 0] * np.cos(pose.yaw) + pts[:, 2] * np.sin(pose.yaw)
    y = pts[:, 1]
    cr, sr = np.cos(pose.roll), np.sin(pose.roll)
    return np.stack([pose.scale * (cr * x - sr * y) + pose.center[0],
                     pose.scale * (sr * x + cr * y) + pose.center[1]], axis=-1)


def test_projection_without_pitch_is_the_yaw_roll_formula():
    pts = synthetic.canonical_landmarks("wflw98")
    for yaw, roll in [(0.0, 0.0), (0.4, -0.2), (-0.6, 0.5)]:
        pose = synthetic.Pose(yaw=yaw, roll=roll, scale=37.5, center=(60.25, 70.5))
        assert pose.pitch == 0.0
        np.testing.assert_array_equal(synthetic.project(pts, pose), _yaw_roll_formula(pts, pose))


def test_pitched_projection_is_the_rotation():
    pts = synthetic.canonical_landmarks("300w68")
    yaw, pitch, roll = 0.3, -0.25, 0.2
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)],
                   [0, np.sin(pitch), np.cos(pitch)]])
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0],
                   [-np.sin(yaw), 0, np.cos(yaw)]])
    rz = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    want = 40.0 * (rz @ (ry @ rx @ pts.T)[:2]).T + np.array([100.0, 90.0])
    pose = synthetic.Pose(yaw=yaw, roll=roll, scale=40.0, center=(100.0, 90.0), pitch=pitch)
    np.testing.assert_allclose(synthetic.project(pts, pose), want, atol=1e-9)
    # Positive pitch turns the face up: the nose tip (in front) rises above its frontal place.
    up = synthetic.project(pts, synthetic.Pose(pitch=0.3))
    front = synthetic.project(pts, synthetic.Pose())
    assert up[30, 1] < front[30, 1] - 5 and abs(up[30, 0] - front[30, 0]) < 1e-9


def test_default_pitch_keeps_the_random_stream():
    # Stored values of the generator without pitch (seed 11, 128 px, points 0, 8, 30, 45).
    want = [([[32.6158, 60.8252], [64.9934, 99.7313], [66.7572, 72.9362], [81.7767, 58.8497]],
             [29.0483, 39.6322, 88.9106, 101.9353]),
            ([[53.633, 71.6935], [88.0833, 102.7661], [90.3418, 78.2617], [95.5427, 65.1684]],
             [54.8218, 50.952, 102.4477, 105.6278])]
    recs = list(synthetic.generate_records(2, "300w68", 128, seed=11))
    zero = list(synthetic.generate_records(2, "300w68", 128, seed=11, max_pitch_degrees=0.0))
    for r, z, (points, box) in zip(recs, zero, want, strict=True):
        np.testing.assert_allclose(r.landmarks[[0, 8, 30, 45]], points, atol=2e-4)
        np.testing.assert_allclose(r.bbox, box, atol=2e-4)
        assert r.image_bytes == z.image_bytes
        np.testing.assert_array_equal(r.landmarks, z.landmarks)
        np.testing.assert_array_equal(r.visible, z.visible)
    # Pitch is drawn after the other pose values: those stay the same.
    a = synthetic.random_pose(np.random.default_rng(3), 256)
    b = synthetic.random_pose(np.random.default_rng(3), 256, max_pitch_degrees=20.0)
    assert a.pitch == 0.0 and 0 < abs(b.pitch) <= np.radians(20.0)
    assert (a.yaw, a.roll, a.scale, a.center) == (b.yaw, b.roll, b.scale, b.center)
    with pytest.raises(ValueError, match="max_pitch_degrees"):
        synthetic.random_pose(np.random.default_rng(3), 256, max_pitch_degrees=-1.0)


def test_pitched_faces_are_drawn_at_their_landmarks():
    """With pitch the pupils are still dark at the eye landmarks' centre."""
    dark, total = 0, 0
    for r in synthetic.generate_records(20, "300w68", 256, seed=3, max_pitch_degrees=30.0):
        grey = _decode(r.image_bytes).astype(np.float32).mean(axis=2)
        img = cv2.erode(grey, np.ones((3, 3), np.uint8))
        for eye in (range(36, 42), range(42, 48)):
            if not np.all(r.visible[list(eye)]):
                continue
            x, y = np.round(r.landmarks[list(eye)].mean(axis=0)).astype(int)
            total += 1
            dark += img[y, x] < 70
    assert total > 15 and dark / total > 0.9


def test_render_face_at_a_given_pose():
    pose = synthetic.Pose(yaw=0.2, roll=-0.1, scale=30.0, center=(64.0, 66.0), pitch=0.15)
    expr = synthetic.Expression(mouth_open=0.1)
    img, pts, vis, box = render_face_at(np.random.default_rng(0), "300w68", 128, pose, expr,
                                        occluders=False)
    want = synthetic.project(synthetic.canonical_landmarks("300w68", expr), pose)
    np.testing.assert_allclose(pts, want, atol=1e-4)
    assert img.shape == (128, 128, 3) and vis.all() and box.shape == (4,)


def test_cli_pitch_flag(tmp_path: pathlib.Path):
    run_cli("data_tools.synthetic", "--num=3", f"--output={tmp_path / 's'}", "--image_size=64",
            "--seed=2", "--max_pitch_degrees=20")
    got = read_back(tmp_path / "s-*", 68)
    want = list(synthetic.generate_records(3, "300w68", 64, seed=2, max_pitch_degrees=20.0))
    for r, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(r["landmarks"], w.landmarks)
