"""Tests of data_tools/records.py (Example builder, sharded writer), and the read-back and
command-line functions the converter tests share."""

from __future__ import annotations

import glob
import os
import pathlib
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf

from awing_tf.data.features import parse_example
from data_tools.records import FaceRecord, ShardedWriter, make_example, shard_names, write_records


def read_back(pattern: str | os.PathLike, num_points: int) -> list[dict]:
    """Reads every record matching ``pattern`` with tf.data + ``parse_example`` (numpy dicts)."""
    files = sorted(glob.glob(str(pattern)))
    ds = tf.data.TFRecordDataset(files).map(lambda s: parse_example(s, num_points))
    out = []
    for ex in ds.as_numpy_iterator():
        ex["source_id"] = ex["source_id"].decode()
        out.append(ex)
    return out


def assert_no_tmp(directory: str | os.PathLike) -> None:
    """No temporary shard remains and every shard has its final name."""
    names = os.listdir(directory)
    assert not [n for n in names if n.endswith(".tmp")], names
    for n in names:
        if "tfrecord" in n:
            assert n.endswith(".tfrecord") and "-of-" in n, n


def run_cli(module: str, *args: str, check: bool = True) -> str:
    """Runs ``python -m module args...`` from the repository root; returns stdout + stderr."""
    repo = pathlib.Path(__file__).resolve().parents[1]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=repo, env=env,
                          capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr


def help_text(module: str) -> str:
    """``--help`` output of an absl app (absl exits with status 1 after printing help)."""
    return run_cli(module, "--help", check=False)


def _record(i: int, k: int = 5) -> FaceRecord:
    img = np.full((12, 16, 3), i * 10, np.uint8)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    lm = np.arange(k * 2, dtype=np.float32).reshape(k, 2) + i
    return FaceRecord(buf.tobytes(), f"img{i}.png", 12, 16, lm, "test", [1.0, 2.0, 10.0, 11.0],
                      visible=np.array([1, 0, 1, 1, 0]), attributes=[i, 0, 1])


def test_shard_names():
    assert shard_names("a/b", 2) == ["a/b-00000-of-00002.tfrecord", "a/b-00001-of-00002.tfrecord"]
    with pytest.raises(ValueError):
        shard_names("x", 0)


def test_round_trip(tmp_path: pathlib.Path):
    paths = write_records(str(tmp_path / "r"), [_record(i) for i in range(5)], num_shards=2)
    assert [os.path.basename(p) for p in paths] == [
        "r-00000-of-00002.tfrecord", "r-00001-of-00002.tfrecord"]
    assert_no_tmp(tmp_path)
    recs = sorted(read_back(tmp_path / "r-*", 5), key=lambda r: r["source_id"])
    assert len(recs) == 5
    for i, r in enumerate(recs):
        want = _record(i)
        assert r["source_id"] == want.source_id
        np.testing.assert_array_equal(r["landmarks"], want.landmarks)
        np.testing.assert_array_equal(r["visible"], [1, 0, 1, 1, 0])
        np.testing.assert_array_equal(r["bbox"], [1, 2, 10, 11])
        np.testing.assert_array_equal(r["attributes"], [i, 0, 1])
        assert (r["height"], r["width"]) == (12, 16)
        assert r["image_bytes"] == want.image_bytes


def test_visible_defaults_to_ones(tmp_path: pathlib.Path):
    rec = _record(1)
    rec.visible = None
    write_records(str(tmp_path / "v"), [rec])
    (r,) = read_back(tmp_path / "v-*", 5)
    np.testing.assert_array_equal(r["visible"], np.ones(5))


def test_round_robin_and_abort(tmp_path: pathlib.Path):
    with ShardedWriter(str(tmp_path / "a"), 3) as w:
        for i in range(7):
            w.write(make_example(_record(i)))
    counts = [sum(1 for _ in tf.data.TFRecordDataset(p)) for p in w.paths]
    assert counts == [3, 2, 2]
    with pytest.raises(RuntimeError), ShardedWriter(str(tmp_path / "b"), 2) as w2:
        w2.write(make_example(_record(0)))
        raise RuntimeError("boom")
    assert not glob.glob(str(tmp_path / "b-*"))
    assert_no_tmp(tmp_path)


@pytest.mark.parametrize(
    "change",
    [
        {"landmarks": np.zeros((5, 3))},
        {"visible": np.ones(4)},
        {"bbox": [1.0, 2.0, 3.0]},
    ],
)
def test_make_example_rejects_bad_shapes(change):
    rec = _record(0)
    for k, v in change.items():
        setattr(rec, k, v)
    with pytest.raises(ValueError):
        make_example(rec)
