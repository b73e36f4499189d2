"""`python -m data_tools.inspect_records`: clean synthetic shards pass, every anomaly kind is
found and named with its record, and the contact sheet shows the landmarks."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf

from awing_tf.data import features as F
from data_tools.contact_sheet import HIDDEN_COLOR, VISIBLE_COLOR
from data_tools.record_stats import Inspection, check_record, split_of_shard
from data_tools.records import FaceRecord, ShardedWriter, make_example
from data_tools.synthetic.generate import contact_sheet, generate_records, write_synthetic

REPO = pathlib.Path(__file__).resolve().parents[1]
SIZE = 96


def inspect_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "data_tools.inspect_records", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[pathlib.Path, subprocess.CompletedProcess, dict]:
    folder = tmp_path_factory.mktemp("clean")
    write_synthetic(str(folder / "demo"), 24, image_size=SIZE, split="train=0.75,val=0.25")
    summary = folder / "summary.json"
    proc = inspect_cli(f"--records={folder}/demo_*.tfrecord", f"--sheet={folder / 'sheet.png'}",
                       "--sheet_faces=6", f"--sheet_tile={SIZE}", f"--out={summary}")
    return folder, proc, json.loads(summary.read_text())


def _write(path: pathlib.Path, records: list[bytes]) -> str:
    with ShardedWriter(str(path), 1) as writer:
        for r in records:
            writer.write(r)
    return writer.paths[0]


def _faces(start: int, n: int) -> list[FaceRecord]:
    return list(generate_records(start + n, image_size=SIZE, seed=7))[start:]


def _bad_shards(folder: pathlib.Path) -> dict[str, tuple[str, bool]]:
    """One shard per anomaly kind: a good record then a bad one; returns kind -> (expected
    record id, whether it is an anomaly)."""
    faces = iter(_faces(0, 40))
    expected = {}

    def shard(kind: str, bad: FaceRecord | bytes, anomaly: bool = True) -> str:
        good = make_example(next(faces)).SerializeToString()
        data = bad if isinstance(bad, bytes) else make_example(bad).SerializeToString()
        path = _write(folder / kind.replace("_", ""), [good, data])
        expected[kind] = (f"{os.path.basename(path)}:1", anomaly)
        return path

    def edit(**changes) -> FaceRecord:
        return dataclasses.replace(next(faces), **changes)

    face = next(faces)
    shard("undecodable_image", dataclasses.replace(face, image_bytes=b"not an image"))
    shard("image_size_mismatch", edit(height=SIZE + 4))
    face = next(faces)
    shard("wrong_point_count", dataclasses.replace(face, landmarks=face.landmarks[:60],
                                                   visible=face.visible[:60]))
    face = next(faces)
    lm = face.landmarks.copy()
    lm[5] = np.nan
    shard("non_finite_landmarks", dataclasses.replace(face, landmarks=lm))
    for kind, flag in (("visible_outside_image", 1), ("hidden_outside_image", 0)):
        face = next(faces)
        lm, vis = face.landmarks.copy(), face.visible.copy()
        lm[0], vis[0] = (-20.0, 10.0), flag
        shard(kind, dataclasses.replace(face, landmarks=lm, visible=vis), anomaly=bool(flag))
    shard("bad_box", edit(bbox=[50.0, 50.0, 40.0, 80.0]))
    shard("box_outside_image", edit(bbox=[SIZE + 5.0, 10.0, SIZE + 40.0, 50.0]))
    shard("unknown_scheme", edit(scheme="nosuch"))
    example = make_example(next(faces))
    del example.features.feature[F.BBOX_XYXY]
    shard("missing_feature", example.SerializeToString())
    first, second = next(faces), next(faces)
    path = _write(folder / "duplicatesourceid", [make_example(first).SerializeToString(),
        make_example(dataclasses.replace(second, source_id=first.source_id)).SerializeToString()])
    expected["duplicate_source_id"] = (f"{os.path.basename(path)}:1", True)
    # framing: the file ends inside record 1; crc: one data byte of record 1 flipped
    path = shard("framing", next(faces))
    data = pathlib.Path(path).read_bytes()
    pathlib.Path(path).write_bytes(data[:-10])
    path = shard("crc", next(faces))
    data = bytearray(pathlib.Path(path).read_bytes())
    (first,) = struct.unpack("<Q", data[:8])
    data[12 + first + 4 + 12 + 100] ^= 0xFF
    pathlib.Path(path).write_bytes(bytes(data))
    return expected


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> tuple[dict, subprocess.CompletedProcess, dict]:
    folder = tmp_path_factory.mktemp("bad")
    expected = _bad_shards(folder)
    summary = folder / "summary.json"
    proc = inspect_cli(f"--records={folder}/*.tfrecord", f"--out={summary}")
    return expected, proc, json.loads(summary.read_text())


def test_clean_shards_pass_with_counts(clean):
    folder, proc, summary = clean
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "anomalies: none" in proc.stdout
    assert summary["total_anomalies"] == 0 and summary["anomalies"] == {}
    assert summary["records"] == 24 and summary["schemes"] == {"300w68": 24}
    per_split = summary["faces_per_split"]
    assert set(per_split) == {"train", "val"} and sum(per_split.values()) == 24
    for path, shard in summary["shards"].items():
        assert shard["split"] in path and shard["error"] is None
    assert summary["image_size_min_median_max"] == {"height": [SIZE] * 3, "width": [SIZE] * 3}
    assert "shards: 100%" in proc.stderr  # the progress bar


@pytest.mark.parametrize("kind", [
    "framing", "crc", "missing_feature", "undecodable_image", "image_size_mismatch",
    "wrong_point_count", "non_finite_landmarks", "visible_outside_image", "bad_box",
    "box_outside_image", "unknown_scheme", "duplicate_source_id"])
def test_anomaly_is_found_and_named(bad, kind: str):
    expected, proc, summary = bad
    record, _ = expected[kind]
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    entry = summary["anomalies"][kind]
    assert entry["count"] == 1
    assert [e["record"] for e in entry["examples"]] == [record]
    assert f"  {kind}: 1" in proc.stdout and record in proc.stdout


def test_each_bad_shard_has_only_its_anomaly(bad):
    expected, _, summary = bad
    found = {e["record"]: kind for kind, entry in summary["anomalies"].items()
             for e in entry["examples"]}
    assert found == {record: kind for kind, (record, anomaly) in expected.items() if anomaly}
    assert expected["hidden_outside_image"][0] not in found  # hidden points may lie outside
    assert summary["anomalies"]["missing_feature"]["examples"][0]["detail"] == \
        f"missing {F.BBOX_XYXY}"
    dup = summary["anomalies"]["duplicate_source_id"]["examples"][0]
    assert dup["source_id"] and dup["detail"].startswith("also at duplicatesourceid-")
    framing = summary["anomalies"]["framing"]["examples"][0]["detail"]
    assert "truncated" in framing
    scans = {pathlib.Path(p).name.split("-")[0]: s for p, s in summary["shards"].items()}
    assert scans["framing"]["records"] == 1 and scans["crc"]["records"] == 1
    assert "data checksum" in scans["crc"]["error"]


def test_scheme_flag_and_split_names():
    face = _faces(0, 1)[0]
    data = make_example(face).SerializeToString()
    parsed, anomalies = check_record(data, "x:0", "300w68")
    assert anomalies == [] and parsed.landmarks.shape == (68, 2)
    _, anomalies = check_record(data, "x:0", "wflw98")
    assert [a.kind for a in anomalies] == ["scheme_mismatch"]
    _, anomalies = check_record(b"\x01\x02garbage", "x:3")
    assert [a.kind for a in anomalies] == ["unparsable_record"]
    assert split_of_shard("/d/wflw_train-00001-of-00004.tfrecord") == "train"
    assert split_of_shard("/d/demo-00000-of-00001.tfrecord") == "all"


def test_wflw_attribute_counts():
    inspection = Inspection()
    faces = list(generate_records(3, scheme="wflw98", image_size=SIZE))
    for i, (face, flags) in enumerate(zip(faces, ([1, 0, 0, 0, 1, 0], [1, 1, 0, 0, 0, 0], []),
                                          strict=True)):
        data = make_example(dataclasses.replace(face, attributes=flags)).SerializeToString()
        parsed, anomalies = check_record(data, f"w:{i}")
        assert anomalies == []
        inspection.add_face(parsed, "test")
    counts = inspection.to_dict()["attributes"]["wflw98"]
    assert counts == {"pose": 2, "expression": 1, "illumination": 0, "make_up": 0,
                      "occlusion": 1, "blur": 0}
    assert "attributes (wflw98): pose 2, expression 1" in inspection.format_text()


def test_glob_matching_nothing_is_named(tmp_path: pathlib.Path):
    proc = inspect_cli(f"--records={tmp_path}/none_*.tfrecord")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"{tmp_path}/none_*.tfrecord" in proc.stderr and "matches no files" in proc.stderr


def _tile_faces(folder: pathlib.Path, sheet: dict) -> list[tf.train.Example]:
    by_id = {}
    for path in folder.glob("demo_*.tfrecord"):
        for i, raw in enumerate(tf.data.TFRecordDataset(str(path))):
            by_id[f"{path.name}:{i}"] = tf.train.Example.FromString(raw.numpy())
    return [by_id[r] for r in sheet["records"]]


def test_contact_sheet_shows_the_landmarks(clean):
    folder, _, summary = clean
    sheet_info = summary["sheet"]
    assert sheet_info["tile"] == SIZE and len(sheet_info["records"]) == 6
    sheet = cv2.imread(str(folder / "sheet.png"), cv2.IMREAD_COLOR)
    cols = sheet_info["cols"]
    assert sheet.shape == (SIZE * 2, SIZE * cols, 3)
    checked_hidden = 0
    for n, example in enumerate(_tile_faces(folder, sheet_info)):
        feat = example.features.feature
        xy = np.array(feat[F.LANDMARKS_XY].float_list.value).reshape(-1, 2)
        vis = np.array(feat[F.LANDMARKS_VISIBLE].int64_list.value) > 0
        tile = sheet[(n // cols) * SIZE:(n // cols + 1) * SIZE, (n % cols) * SIZE:
                     (n % cols + 1) * SIZE]
        pix = np.round(xy).astype(int)
        for (x, y) in pix[vis]:
            assert tuple(tile[y, x]) == VISIBLE_COLOR, (n, x, y, tile[y, x])
        for (x, y) in pix[~vis]:
            near_visible = np.any(np.abs(pix[vis] - (x, y)).max(axis=1) <= 1)
            if 0 <= x < SIZE and 0 <= y < SIZE and not near_visible:
                assert tuple(tile[y, x]) == HIDDEN_COLOR
                checked_hidden += 1
    assert checked_hidden > 0  # hidden points inside the image are drawn red


def test_synthetic_sheet_uses_the_same_drawing():
    sheet = contact_sheet(2, image_size=64, cols=2)
    assert sheet.shape == (64, 128, 3)
    for n, face in enumerate(generate_records(2, image_size=64)):
        for (x, y) in np.round(face.landmarks[face.visible > 0]).astype(int):
            assert tuple(sheet[y, 64 * n + x]) == VISIBLE_COLOR
