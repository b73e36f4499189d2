"""convert_cofw: helen29 .pts folder, and small COFW-like .mat files (v5 and v7.3 layouts)."""

from __future__ import annotations

import os
import pathlib

import cv2
import h5py
import numpy as np
import pytest
import scipy.io

from data_tools.convert_cofw import convert_cofw, load_cofw_mat
from data_tools.writing import OutputSpec
from tests.conftest import read_pts
from tests.test_records import assert_no_tmp, help_text, read_back


def test_helen29_folder(real_data: pathlib.Path, tmp_path: pathlib.Path):
    src = real_data / "helen29"
    tree = tmp_path / "h"
    tree.mkdir()
    for jpg in sorted(src.glob("*.jpg"))[:4]:
        for f in (jpg, jpg.with_suffix(".pts")):
            os.symlink(f, tree / f.name)
    summary = convert_cofw(tree, OutputSpec(str(tmp_path / "c"), num_shards=2))
    assert summary.total_written == 4 and summary.total_skipped == 0
    assert_no_tmp(tmp_path)
    for r in read_back(tmp_path / "c-*", 29):
        pts = np.asarray(read_pts(src / pathlib.Path(r["source_id"]).with_suffix(".pts")),
                         np.float32)
        np.testing.assert_array_equal(r["landmarks"], pts)
        np.testing.assert_array_equal(r["bbox"], np.concatenate([pts.min(0), pts.max(0)]))
        assert r["image_bytes"] == (src / r["source_id"]).read_bytes()


def _faces(n: int = 4) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (40 + i, 50 + 2 * i, 3), dtype=np.uint8) for i in range(n)]
    images[1] = images[1][:, :, 0]  # a grey image
    phis = np.zeros((n, 87))
    phis[:, :29] = rng.uniform(5, 35, (n, 29))
    phis[:, 29:58] = rng.uniform(5, 35, (n, 29))
    phis[:, 58:] = rng.integers(0, 2, (n, 29))
    boxes = np.tile([4.0, 5.0, 30.0, 31.0], (n, 1))
    phis[2, 3] = np.nan  # skipped: non-finite
    boxes[3] = [500.0, 500.0, 10.0, 10.0]  # skipped: box outside the image
    return images, phis, boxes


def _write_v5(path: pathlib.Path, images, phis, boxes) -> None:
    cells = np.empty((len(images), 1), dtype=object)
    for i, im in enumerate(images):
        cells[i, 0] = im
    scipy.io.savemat(str(path), {"IsT": cells, "phisT": phis, "bboxesT": boxes})


def _write_v73(path: pathlib.Path, images, phis, boxes) -> None:
    """HDF5 as MATLAB -v7.3 writes it: reversed dims, the cell as (1, N) object references."""
    with h5py.File(path, "w") as f:
        refs_group = f.create_group("#refs#")
        refs = np.empty((1, len(images)), dtype=h5py.ref_dtype)
        for i, im in enumerate(images):
            refs[0, i] = refs_group.create_dataset(f"im{i}", data=np.transpose(im)).ref
        f.create_dataset("IsTr", data=refs)
        f.create_dataset("phisTr", data=np.transpose(phis))
        f.create_dataset("bboxesTr", data=np.transpose(boxes))


@pytest.mark.parametrize("version", ["v5", "v73"])
def test_mat_files(tmp_path: pathlib.Path, version: str):
    images, phis, boxes = _faces()
    path = tmp_path / f"COFW_{version}.mat"
    (_write_v5 if version == "v5" else _write_v73)(path, images, phis, boxes)
    loaded, lphis, lboxes = load_cofw_mat(path)
    for a, b in zip(loaded, images, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(lphis, phis)
    np.testing.assert_array_equal(lboxes, boxes)

    summary = convert_cofw(path, OutputSpec(str(tmp_path / "o"), num_shards=2))
    assert summary.total_written == 2
    assert dict(summary.skipped) == {"non_finite_landmarks": 1, "box_outside_image": 1}
    assert_no_tmp(tmp_path)
    recs = {r["source_id"]: r for r in read_back(tmp_path / "o-*", 29)}
    assert sorted(recs) == [f"{path.name}/00000", f"{path.name}/00001"]
    for i in (0, 1):
        r = recs[f"{path.name}/{i:05d}"]
        np.testing.assert_array_equal(
            r["landmarks"], np.stack([phis[i, :29], phis[i, 29:58]], 1).astype(np.float32))
        np.testing.assert_array_equal(r["visible"], 1 - phis[i, 58:])
        np.testing.assert_array_equal(r["bbox"], [4, 5, 34, 36])
        img = cv2.imdecode(np.frombuffer(r["image_bytes"], np.uint8), cv2.IMREAD_UNCHANGED)
        want = images[i] if images[i].ndim == 2 else cv2.cvtColor(images[i], cv2.COLOR_RGB2BGR)
        np.testing.assert_array_equal(img, want)
        assert (r["height"], r["width"]) == images[i].shape[:2]


def test_cli_help():
    out = help_text("data_tools.convert_cofw")
    for flag in ("--input", "--output", "--num_shards", "--split", "--one_based", "--limit"):
        assert flag in out
