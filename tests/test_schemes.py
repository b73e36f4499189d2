"""Landmark schemes: flip permutations are involutions that swap the sides of real faces."""

from __future__ import annotations

import json

import numpy as np
import pytest

from awing_tf import schemes
from tests.conftest import read_pts


@pytest.mark.parametrize("name", sorted(schemes.SCHEMES))
def test_flip_is_involution_and_curves_valid(name):
    s = schemes.get_scheme(name)
    perm = np.array(s.flip_permutation)
    np.testing.assert_array_equal(perm[perm], np.arange(s.num_points))
    assert len(s.boundary_segments()) >= len(s.boundary_curves)
    for a, b in s.normalizers.values():
        assert all(0 <= i < s.num_points for i in a + b)


def _mean_aligned_shape(shapes: np.ndarray, scheme: schemes.LandmarkScheme) -> np.ndarray:
    """Similarity-align every face on its normalizer points (midpoint at the origin, the
    line between them horizontal, unit length) and average: pose and yaw mostly cancel."""
    a_idx, b_idx = scheme.normalizer_indices()
    out = []
    for pts in shapes:
        a, b = pts[list(a_idx)].mean(0), pts[list(b_idx)].mean(0)
        v = b - a
        ang = np.arctan2(v[1], v[0])
        rot = np.array([[np.cos(-ang), -np.sin(-ang)], [np.sin(-ang), np.cos(-ang)]])
        out.append((pts - (a + b) / 2) @ rot.T / np.linalg.norm(v))
    return np.mean(out, axis=0)


def _check_mirror(shapes: np.ndarray, scheme: schemes.LandmarkScheme) -> None:
    """Mirror the mean face about its vertical midline: the partner p[i] of every swapped
    point must land on point i (far closer than point i's own mirror image, which is what a
    wrong identity permutation would give), and self-paired points sit near the midline."""
    mean = _mean_aligned_shape(shapes, scheme)
    perm = np.array(scheme.flip_permutation)
    mirrored = mean * [-1.0, 1.0]
    err_perm = np.linalg.norm(mirrored[perm] - mean, axis=1)
    err_identity = np.linalg.norm(mirrored - mean, axis=1)
    moved = perm != np.arange(scheme.num_points)
    assert np.all(err_perm < 0.2), np.flatnonzero(err_perm >= 0.2)
    assert np.all(err_perm[moved] < 0.5 * err_identity[moved])
    assert np.all(np.sign(mean[moved, 0]) == -np.sign(mean[perm[moved], 0]))


def test_300w_flip_on_real_faces(real_data):
    files = sorted((real_data / "300w_common" / "HELEN").glob("*.pts"))[:120]
    shapes = np.array([read_pts(f) for f in files])
    _check_mirror(shapes, schemes.W300_68)
    # Left-eye points (36-41) sit image-left of the right-eye points (42-47).
    assert np.all(shapes[:, 36:42, 0].mean(1) < shapes[:, 42:48, 0].mean(1))


def test_cofw_flip_on_real_faces(real_data):
    files = sorted((real_data / "helen29").glob("*.pts"))[:120]
    _check_mirror(np.array([read_pts(f) for f in files]), schemes.COFW_29)


def test_wflw_flip_on_real_faces(real_data):
    ann = real_data / "smoke_real" / "wflw_format" / "WFLW_annotations"
    lines = next(ann.rglob("*.txt")).read_text().split("\n")
    shapes = np.array([[float(v) for v in ln.split()[:196]] for ln in lines if ln.strip()])
    _check_mirror(shapes.reshape(-1, 98, 2), schemes.WFLW_98)


def test_lsp_flip_swaps_person_sides():
    s = schemes.LSP_14
    assert s.flip_permutation[0] == 5 and s.flip_permutation[8] == 9
    assert s.flip_permutation[12] == 12 and s.flip_permutation[13] == 13


def test_unknown_and_custom_scheme():
    with pytest.raises(ValueError, match="unknown scheme"):
        schemes.get_scheme("300w67")
    with pytest.raises(ValueError, match="permutation"):
        schemes.LandmarkScheme("bad", 3, (0, 0, 1), (), {"d": ((0,), (1,))}, "d")
    custom = schemes.LandmarkScheme("tri3", 3, (1, 0, 2), ((0, 2, 1),), {"d": ((0,), (1,))}, "d")
    schemes.register_scheme(custom)
    assert schemes.get_scheme("tri3") is custom
    assert json.dumps(custom.flip_permutation) == "[1, 0, 2]"
