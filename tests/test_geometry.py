"""Crop and geometric augmentation: warp convention, matrices, a real face rotated and flipped."""

from __future__ import annotations

import math
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from awing_tf.data import geometry as A
from awing_tf.schemes import get_scheme

REPO = pathlib.Path(__file__).resolve().parents[1]
S = 256


def _common_dir() -> pathlib.Path:
    root = pathlib.Path(os.environ.get("AWING_DATA", REPO.parent / "shared" / "data"))
    common = root / "300w_common"
    if not common.is_dir():
        pytest.skip(f"real data not found at {common} (set AWING_DATA)")
    return common


def _read_pts(path: pathlib.Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    rows = lines[lines.index("{") + 1:lines.index("}")]
    return np.array([[float(v) for v in ln.split()] for ln in rows], np.float32)


def _bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Reference bilinear sampler, pixel centres at integers, zero outside. (N,) -> (N, C)."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)))
    x0 = np.floor(x).astype(int)
    y0 = np.floor(y).astype(int)
    fx = (x - x0)[:, None]
    fy = (y - y0)[:, None]

    def at(yy, xx):
        return padded[np.clip(yy + 1, 0, h + 1), np.clip(xx + 1, 0, w + 1)]

    return ((1 - fx) * (1 - fy) * at(y0, x0) + fx * (1 - fy) * at(y0, x0 + 1)
            + (1 - fx) * fy * at(y0 + 1, x0) + fx * fy * at(y0 + 1, x0 + 1))


# === Warp convention ===


@pytest.mark.parametrize(
    "matrix",
    [
        [[1, 0, 3], [0, 1, -5], [0, 0, 1]],  # integer shift
        A.similarity_matrix(64, math.pi / 2, 1.0, [0.0, 0.0]).numpy(),  # 90 deg about centre
        A.flip_matrix(64).numpy(),
        A.similarity_matrix(64, -math.pi / 2, 1.0, [2.0, 1.0]).numpy() @ A.flip_matrix(64).numpy(),
    ],
)
def test_single_bright_pixel_lands_where_the_matrix_maps_it(matrix):
    image = np.zeros((64, 64, 1), np.float32)
    image[20, 10] = 1.0  # (x, y) = (10, 20)
    m = tf.constant(matrix, tf.float32)
    out = A.warp_image(image, m, 64).numpy()[..., 0]
    expected = A.apply_affine_to_points(m, [[10.0, 20.0]]).numpy()[0]
    ys, xs = np.nonzero(out > 0.5)
    assert (xs.tolist(), ys.tolist()) == ([round(expected[0])], [round(expected[1])])
    np.testing.assert_allclose(expected, np.round(expected), atol=1e-4)
    assert out.sum() == pytest.approx(1.0, abs=1e-4)


def test_half_pixel_shift_splits_the_pixel_evenly():
    image = np.zeros((32, 32, 1), np.float32)
    image[8, 8] = 1.0
    m = tf.constant([[1, 0, 0.5], [0, 1, 0], [0, 0, 1]], tf.float32)
    out = A.warp_image(image, m, 32).numpy()[..., 0]
    np.testing.assert_allclose(out[8, 8:10], [0.5, 0.5], atol=1e-5)
    assert out.sum() == pytest.approx(1.0, abs=1e-5)


def test_batched_warp_equals_single_warps():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 40, 50, 3)).astype(np.float32)
    mats = tf.stack([A.similarity_matrix(32, 0.3, 1.2, [1.0, -2.0]),
                     A.crop_matrix([5.0, 4.0, 30.0, 35.0], 32)])
    batched = A.warp_image(images, mats, 32).numpy()
    for i in range(2):
        np.testing.assert_allclose(batched[i], A.warp_image(images[i], mats[i], 32), atol=1e-6)


def test_source_region_gives_the_same_warp():
    rng = np.random.default_rng(1)
    image = rng.uniform(size=(300, 200, 3)).astype(np.float32)
    for m in [A.crop_matrix([40.0, 60.0, 140.0, 180.0], 64) @ A.similarity_matrix(
            64, 0.8, 0.9, [4.0, 2.0]), A.crop_matrix([-30.0, 250.0, 60.0, 330.0], 64)]:
        region, m2 = A.source_region(image, m, 64)
        np.testing.assert_allclose(A.warp_image(region, m2, 64), A.warp_image(image, m, 64),
                                   atol=1e-4)


# === Matrices ===


def test_crop_matrix_maps_the_square_box_onto_the_frame():
    m = A.crop_matrix([10.0, 20.0, 110.0, 60.0], 256, margin=0.0)  # 100 x 40: side 100
    corners = A.apply_affine_to_points(m, [[10.0, -10.0], [110.0, 90.0]]).numpy()
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [255.5, 255.5]], atol=1e-4)
    m = A.crop_matrix([0.0, 0.0, 100.0, 100.0], 100, margin=0.1)  # side 110 about (50, 50)
    corners = A.apply_affine_to_points(m, [[-5.0, -5.0], [105.0, 105.0]]).numpy()
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [99.5, 99.5]], atol=1e-4)


def test_crop_matrix_rejects_bad_arguments():
    with pytest.raises(ValueError, match="margin"):
        A.crop_matrix([0.0, 0.0, 1.0, 1.0], 64, margin=-0.1)
    with pytest.raises(ValueError, match="input_size"):
        A.crop_matrix([0.0, 0.0, 1.0, 1.0], 0)


def test_invert_affine_and_random_matrix_ranges():
    seed = tf.constant([3, 4], tf.int64)
    m, flipped = A.random_augment_matrix(seed, 256, 50.0, 0.1, 0.15, 0.5)
    np.testing.assert_allclose(A.invert_affine(m) @ m, np.eye(3), atol=1e-5)
    det = abs(float(tf.linalg.det(m[:2, :2])))
    assert 0.85**2 - 1e-4 <= det <= 1.15**2 + 1e-4
    assert bool(flipped) == (float(tf.linalg.det(m[:2, :2])) < 0)
    m2, _ = A.random_augment_matrix(seed, 256, 50.0, 0.1, 0.15, 0.5)
    np.testing.assert_array_equal(m, m2)


# === A real face: rotation + flip ===


def test_real_face_rotation_and_flip_keep_landmarks_on_their_features():
    common = _common_dir()
    path = common / "HELEN" / sorted(p.name for p in (common / "HELEN").glob("*.png"))[0]
    source = tf.io.decode_image(path.read_bytes(), channels=3).numpy().astype(np.float32) / 255
    pts = _read_pts(path.with_suffix(".pts"))
    scheme = get_scheme("300w68")

    angle = math.radians(30.0)
    m = A.flip_matrix(S) @ A.similarity_matrix(S, angle, 1.0, [0.0, 0.0])
    # analytic: rotate about the centre, then mirror x -> S - 1 - x
    c = (S - 1) / 2
    rx = c + math.cos(angle) * (pts[:, 0] - c) - math.sin(angle) * (pts[:, 1] - c)
    ry = c + math.sin(angle) * (pts[:, 0] - c) + math.cos(angle) * (pts[:, 1] - c)
    expected = np.stack([S - 1 - rx, ry], -1)
    moved = A.apply_affine_to_points(m, pts).numpy()
    assert np.abs(moved - expected).max() < 0.5

    warped = A.warp_image(source, m, S).numpy()
    inv = A.invert_affine(m).numpy()
    offs = np.arange(-4, 5)
    for k in (30, 33, 36, 39, 42, 45, 48, 54, 8):  # nose, eye corners, mouth corners, chin
        qx, qy = np.meshgrid(np.round(moved[k, 0]) + offs, np.round(moved[k, 1]) + offs)
        qx, qy = qx.ravel(), qy.ravel()
        got = warped[qy.astype(int), qx.astype(int)]
        sx = inv[0, 0] * qx + inv[0, 1] * qy + inv[0, 2]
        sy = inv[1, 0] * qx + inv[1, 1] * qy + inv[1, 2]
        want = _bilinear(source, sx, sy)
        assert np.abs(got - want).mean() < 0.01, k
        assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.97, k
        # and the warped image at the moved landmark shows the source at the landmark
        centre = _bilinear(warped, moved[k:k + 1, 0], moved[k:k + 1, 1])[0]
        at_source = _bilinear(source, pts[k:k + 1, 0], pts[k:k + 1, 1])[0]
        assert np.abs(centre - at_source).max() < 0.12, k

    new_pts, new_vis = A.flip_landmarks(moved, np.ones(68, np.float32),
                                        scheme.flip_permutation, tf.constant(True))
    new_pts = new_pts.numpy()
    left, right = new_pts[36:42], new_pts[42:48]
    assert left[:, 0].mean() < right[:, 0].mean()  # new left eye is image-left
    np.testing.assert_allclose(left, expected[[45, 44, 43, 42, 47, 46]], atol=0.5)
    assert set(scheme.flip_permutation[36:42]) == set(range(42, 48))
    # before the flip the old right eye (42-47) was image-right of the old left eye
    assert pts[42:48, 0].mean() > pts[36:42, 0].mean()
    assert new_vis.shape == (68,)
