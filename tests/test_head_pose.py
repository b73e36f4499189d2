"""Head pose from 68 landmarks against the synthetic generator's true poses; the shipped mean
face; the pose axes drawing.

Tolerances: the generator projects orthographically, the estimator assumes a pinhole camera.
With a near-orthographic camera (focal length 20 x the image width) and the neutral face the
recovered angles are within 0.5 degrees of the generator's; with random expressions (open
mouth, raised brows: points the rigid model does not follow) the mean error per angle is
within 1.5 degrees and every face within 5. With the default camera (focal length = image
width) on faces of the generator's usual size, the perspective / orthographic mismatch adds
up to about 8 degrees (mean within 4).
"""

from __future__ import annotations

import itertools
import json
import math
import pathlib
import tomllib

import cv2
import numpy as np
import pytest

from awing_tf.drawing import draw_pose_axes
from awing_tf.inference import head_pose as hp
from data_tools.synthetic.geometry import Expression, FaceGeometry, Pose, project
from data_tools.synthetic.mean_face import mean_face_document
from data_tools.synthetic.render import random_expression
from data_tools.synthetic.templates import TEMPLATES, canonical_landmarks

REPO = pathlib.Path(__file__).resolve().parents[1]
SIZE = (256, 256)
NEAR_ORTHO = 20 * 256  # focal length in pixels: a nearly orthographic camera
SINGLE = ([(y, 0, 0) for y in (-60, -45, -30, -15, 0, 15, 30, 45, 60)]
          + [(0, p, 0) for p in (-30, -20, -10, 10, 20, 30)]
          + [(0, 0, r) for r in (-45, -30, -15, 15, 30, 45)])
COMBINED = list(itertools.product((-45, 0, 45), (-20, 0, 20), (-30, 0, 30)))


def _landmarks(yaw: float, pitch: float, roll: float, expr: Expression | None = None,
               scale: float = 50.0, center: tuple[float, float] = (100.0, 150.0)) -> np.ndarray:
    """(68, 2) true landmarks of the generator at the pose (degrees)."""
    pose = Pose(yaw=math.radians(yaw), pitch=math.radians(pitch), roll=math.radians(roll),
                scale=scale, center=center)
    return project(TEMPLATES["300w68"](FaceGeometry(expr or Expression())), pose)


def _errors(grid, focal: float | None, seed: int | None = None, **kw) -> np.ndarray:
    """(len(grid), 3) absolute angle errors in degrees."""
    rng = np.random.default_rng(seed)
    out = []
    for angles in grid:
        expr = random_expression(rng) if seed is not None else None
        p = hp.head_pose(_landmarks(*angles, expr=expr, **kw), SIZE, focal_length=focal)
        out.append(np.abs(np.array([p.yaw, p.pitch, p.roll]) - angles))
    return np.array(out)


def test_shipped_mean_face_is_the_generators():
    doc = json.loads(hp.MEAN_FACE_FILE.read_text())
    np.testing.assert_array_equal(np.array(doc["points"]), canonical_landmarks("300w68"))
    assert doc == mean_face_document()
    assert doc["scheme"] == "300w68" and "not derived from any dataset" in doc["source"]
    pts = hp.model_points()
    assert pts.shape == (68, 3) and np.all(pts[hp.NOSE_TIP] == 0)
    eyes = np.linalg.norm(pts[36:42].mean(axis=0) - pts[42:48].mean(axis=0))
    assert eyes == pytest.approx(hp.EYE_DISTANCE_MM)
    assert pts[8, 2] > 0  # the chin lies behind the nose tip (z into the head)


def test_mean_face_is_package_data():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["awing_tf"]
    rel = hp.MEAN_FACE_FILE.relative_to(REPO / "awing_tf")
    assert any(rel.match(p) for p in patterns), patterns


@pytest.mark.parametrize("grid", [SINGLE, COMBINED], ids=["single", "combined"])
def test_recovers_the_generators_pose(grid):
    assert _errors(grid, NEAR_ORTHO).max() < 0.5


@pytest.mark.parametrize("grid", [SINGLE, COMBINED], ids=["single", "combined"])
def test_recovers_the_pose_with_expressions(grid):
    err = _errors(grid, NEAR_ORTHO, seed=0)
    assert err.mean(axis=0).max() < 1.5 and err.max() < 5.0


def test_default_camera_on_usual_face_sizes():
    err = _errors(SINGLE + COMBINED, None, seed=1, scale=54.0, center=(140.0, 120.0))
    assert err.mean(axis=0).max() < 4.0 and err.max() < 8.0


def test_signs():
    for angles, index in [((25, 0, 0), 0), ((0, 20, 0), 1), ((0, 0, 20), 2)]:
        p = hp.head_pose(_landmarks(*angles), SIZE)
        got = np.array([p.yaw, p.pitch, p.roll])
        assert got[index] > 15 and np.all(np.abs(np.delete(got, index)) < 3), got
    right = _landmarks(25, 0, 0)
    assert right[30, 0] > right[27, 0]  # yaw > 0: the nose tip moves to the image's right
    up = _landmarks(0, 20, 0)
    assert up[30, 1] < _landmarks(0, 0, 0)[30, 1]  # pitch > 0: the nose tip moves up


def _pinhole(rotation: np.ndarray, translation: tuple[float, float, float]) -> np.ndarray:
    """(68, 2) pixels of the model seen by the default camera of a 256 x 256 image."""
    rvec = cv2.Rodrigues(rotation)[0]
    cam = hp.camera_matrix(SIZE)
    return cv2.projectPoints(hp.model_points(), rvec, np.array(translation, np.float64), cam,
                             None)[0].reshape(68, 2)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``Rz(roll) @ Ry(-yaw) @ Rx(-pitch)`` from degrees."""
    r = np.radians([-pitch, -yaw, roll])
    return (cv2.Rodrigues(np.array([0.0, 0.0, r[2]]))[0]
            @ cv2.Rodrigues(np.array([0.0, r[1], 0.0]))[0]
            @ cv2.Rodrigues(np.array([r[0], 0.0, 0.0]))[0])


def test_exact_on_pinhole_projections():
    lm = _pinhole(_rotation(20, 15, 10), (0.0, 0.0, 400.0))
    for frame in hp.FRAMES:
        p = hp.head_pose(lm, SIZE, frame=frame)
        np.testing.assert_allclose([p.yaw, p.pitch, p.roll], [20, 15, 10], atol=0.01)
        assert p.reprojection_error < 1e-3
        np.testing.assert_allclose(p.translation_vector, [0, 0, 400], atol=0.05)


def test_view_and_camera_frames():
    """A face on the image's right looking straight at the camera: no yaw in the view frame;
    in the camera frame it turns left (toward the optical axis) by its line of sight."""
    sight = math.atan2(150.0, 400.0)
    lm = _pinhole(cv2.Rodrigues(np.array([0.0, sight, 0.0]))[0], (150.0, 0.0, 400.0))
    view = hp.head_pose(lm, SIZE)
    camera = hp.head_pose(lm, SIZE, frame="camera")
    np.testing.assert_allclose([view.yaw, view.pitch, view.roll], 0.0, atol=0.01)
    np.testing.assert_allclose([camera.yaw, camera.pitch, camera.roll],
                               [-math.degrees(sight), 0.0, 0.0], atol=0.01)


def test_batched_matches_single():
    lms = np.stack([_landmarks(*a) for a in COMBINED[:5]])
    got = hp.head_poses(lms, SIZE)
    assert got.shape == (5, 3)
    for row, lm in zip(got, lms, strict=True):
        p = hp.head_pose(lm, SIZE)
        np.testing.assert_allclose(row, [p.yaw, p.pitch, p.roll])


def test_value_errors():
    lm = _landmarks(10, 5, 0)
    bad = lm.copy()
    bad[[3, 40]] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*\[3, 40\]"):
        hp.head_pose(bad, SIZE)
    with pytest.raises(ValueError, match="face 1: .*NaN"):
        hp.head_poses(np.stack([lm, bad]), SIZE)
    with pytest.raises(ValueError, match="wflw98"):
        hp.head_pose(np.zeros((98, 2)), SIZE, scheme="wflw98")
    with pytest.raises(ValueError, match=r"shape \(68, 2\)"):
        hp.head_pose(lm[:60], SIZE)
    with pytest.raises(ValueError, match="image_size"):
        hp.head_pose(lm, (0, 256))
    with pytest.raises(ValueError, match="frame"):
        hp.head_pose(lm, SIZE, frame="world")
    with pytest.raises(ValueError, match="focal_length"):
        hp.head_pose(lm, SIZE, focal_length=-1.0)
    with pytest.raises(ValueError, match=r"\(N, K, 2\)"):
        hp.head_poses(lm, SIZE)


def _pixels(img: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """(M, 2) x, y of pixels within 40 of the colour ``rgb``."""
    near = np.all(np.abs(img.astype(int) - np.array(rgb)) < 40, axis=2)
    return np.argwhere(near)[:, ::-1]


def test_draw_pose_axes():
    lm = _landmarks(30, -10, 15, center=(128.0, 128.0))
    pose = hp.head_pose(lm, SIZE)
    img = np.zeros((256, 256, 3), np.uint8)
    out = draw_pose_axes(img, pose, lm)
    assert out.shape == img.shape and out.sum() > 0 and img.sum() == 0
    red, green, blue = (_pixels(out, c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255)))
    assert len(red) > 20 and len(green) > 20 and len(blue) > 20
    nose = lm[30]
    for px in (red, green, blue):  # every axis starts at the nose-tip landmark
        assert np.min(np.linalg.norm(px - nose, axis=1)) < 6
    assert red[:, 0].mean() > nose[0] and green[:, 1].mean() > nose[1]  # x right, y down
    assert blue[:, 0].mean() > nose[0]  # the face turned right looks to the image's right
    moved = draw_pose_axes(img, pose, np.array([40.0, 200.0]))
    for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255)):  # arrows drawn later cover the start
        assert np.min(np.linalg.norm(_pixels(moved, color) - [40, 200], axis=1)) < 6
    with pytest.raises(ValueError, match="points"):
        draw_pose_axes(img, pose, np.zeros((3, 3)))
