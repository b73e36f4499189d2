"""convert_lsp on the first LSP-extended images and on a synthetic original-LSP layout."""

from __future__ import annotations

import os
import pathlib

import cv2
import numpy as np
import scipy.io

from data_tools.convert_lsp import convert_lsp, load_joints
from data_tools.writing import OutputSpec
from tests.test_records import assert_no_tmp, help_text, read_back, run_cli


def test_lspet_first_images(real_data: pathlib.Path, tmp_path: pathlib.Path):
    root = real_data / "lspet400"
    summary = convert_lsp(root, OutputSpec(str(tmp_path / "l"), num_shards=2), limit=6)
    assert summary.total_written == 6 and summary.total_skipped == 0
    assert_no_tmp(tmp_path)
    joints = scipy.io.loadmat(str(root / "joints.mat"))["joints"]  # (14, 3, N)
    recs = read_back(tmp_path / "l-*", 14)
    assert sorted(r["source_id"] for r in recs) == [f"images/im{i:05d}.jpg" for i in range(1, 7)]
    for r in recs:
        i = int(r["source_id"][-9:-4]) - 1
        np.testing.assert_array_equal(r["landmarks"], joints[:, :2, i].astype(np.float32))
        np.testing.assert_array_equal(r["visible"], joints[:, 2, i].astype(np.float32))
        vis = r["landmarks"][r["visible"] > 0]
        x1, y1, x2, y2 = r["bbox"]
        assert x1 <= vis[:, 0].min() and x2 >= vis[:, 0].max()
        assert y1 <= vis[:, 1].min() and y2 >= vis[:, 1].max()
        assert x1 >= 0 and y1 >= 0 and x2 <= r["width"] - 1 and y2 <= r["height"] - 1


def test_original_lsp_layout_and_skips(tmp_path: pathlib.Path):
    root = tmp_path / "lsp"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    n = 4
    joints = np.zeros((3, 14, n))
    joints[:2] = rng.uniform(10, 50, (2, 14, n))
    joints[2, 3, 0] = 1  # occluded joint 3 of person 0
    joints[2, :, 2] = 1  # person 2: every joint occluded -> skipped
    scipy.io.savemat(str(root / "joints.mat"), {"joints": joints})
    ok, buf = cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))
    assert ok
    for i in range(n):
        if i != 3:  # person 3: missing image
            (root / "images" / f"im{i + 1:04d}.jpg").write_bytes(buf.tobytes())
    xy, vis = load_joints(root / "joints.mat")
    assert xy.shape == (n, 14, 2) and vis[0, 3] == 0 and vis[0].sum() == 13
    summary = convert_lsp(root, OutputSpec(str(tmp_path / "o")))
    assert summary.total_written == 2
    assert dict(summary.skipped) == {"no_visible_points": 1, "missing_image": 1}
    recs = {r["source_id"]: r for r in read_back(tmp_path / "o-*", 14)}
    np.testing.assert_array_equal(recs["images/im0001.jpg"]["landmarks"],
                                  joints[:2, :, 0].T.astype(np.float32))
    assert not os.path.exists(str(tmp_path / "o-00000-of-00001.tfrecord.tmp"))


def test_flag_meaning_override(real_data: pathlib.Path):
    _, auto = load_joints(real_data / "lspet400" / "joints.mat")
    _, forced = load_joints(real_data / "lspet400" / "joints.mat", "occluded")
    np.testing.assert_array_equal(forced, 1 - auto)


def test_cli(real_data: pathlib.Path, tmp_path: pathlib.Path):
    out = help_text("data_tools.convert_lsp")
    for flag in ("--input", "--output", "--limit", "--margin", "--flag_meaning", "--split"):
        assert flag in out
    run_cli("data_tools.convert_lsp", f"--input={real_data / 'lspet400'}",
            f"--output={tmp_path / 'l'}", "--limit=3")
    assert len(read_back(tmp_path / "l-*", 14)) == 3
