"""Corrupt shards and bad records are named: framing scans, make_dataset, the policies, CLIs."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import struct
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from awing_tf import config as config_lib
from awing_tf.data import features as F
from awing_tf.data import record_validation
from awing_tf.data.pipeline import as_record_error, make_dataset
from awing_tf.data.record_check import RecordError, check_shards, scan_shard
from data_tools.records import make_example
from data_tools.synthetic import generate_records

REPO = pathlib.Path(__file__).resolve().parents[1]
NUM_GOOD = 6
IMAGE_SIZE = 64


def _write(path: pathlib.Path, examples: list[tf.train.Example | bytes]) -> list[int]:
    """Writes ``examples`` as a TFRecord file; returns each record's start offset."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for ex in examples:
            writer.write(ex if isinstance(ex, bytes) else ex.SerializeToString())
    data, offsets, at = path.read_bytes(), [], 0
    while at < len(data):
        offsets.append(at)
        at += 16 + struct.unpack("<Q", data[at:at + 8])[0]
    return offsets


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[pathlib.Path, list[int], list]:
    """A good shard of NUM_GOOD synthetic faces, its record offsets and the FaceRecords."""
    records = list(generate_records(NUM_GOOD, image_size=IMAGE_SIZE, seed=0))
    path = tmp_path_factory.mktemp("records") / "good-00000-of-00001.tfrecord"
    return path, _write(path, [make_example(r) for r in records]), records


def _config(policy: str = "fail") -> config_lib.Config:
    cfg = config_lib.apply_overrides(config_lib.preset("tiny"), ["batch_size=1"])
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, on_bad_record=policy))


def _source_ids(pattern: str, policy: str) -> list[str]:
    ds = make_dataset(pattern, _config(policy), training=False, with_metadata=True)
    return [m["source_id"].numpy()[0].decode() for _, _, m in ds]


def _truncated(good, tmp_path: pathlib.Path, record: int = 3) -> pathlib.Path:
    path, offsets, _ = good
    cut = tmp_path / "cut-00000-of-00001.tfrecord"
    cut.write_bytes(path.read_bytes()[:offsets[record] + 40])  # inside record 3's data
    return cut


# === Framing scan ===


def test_scan_of_good_and_empty_shards(good, tmp_path: pathlib.Path) -> None:
    path, _, _ = good
    for verify in (False, True):
        scan = scan_shard(str(path), verify_crc=verify)
        assert (scan.records, scan.error, scan.error_record) == (NUM_GOOD, None, None)
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    assert scan_shard(str(empty)).records == 0 and scan_shard(str(empty)).error is None
    assert [s.records for s in check_shards([str(path), str(empty)])] == [NUM_GOOD, 0]


def test_scan_of_truncated_shard(good, tmp_path: pathlib.Path) -> None:
    _, offsets, _ = good
    scan = scan_shard(str(_truncated(good, tmp_path)))
    assert (scan.records, scan.error_record, scan.error_offset) == (3, 3, offsets[3])
    assert scan.error.startswith("truncated: file ends inside record 3 (needs ")


def test_scan_of_text_file(tmp_path: pathlib.Path) -> None:
    text = tmp_path / "notes.tfrecord"
    text.write_text("these are my notes, not records\n" * 20)
    scan = scan_shard(str(text))
    assert (scan.records, scan.error_record, scan.error_offset) == (0, 0, 0)
    assert "not a TFRecord file: record 0 length field says" in scan.error
    assert "larger than the file" in scan.error


def test_scan_of_flipped_length_and_data_bytes(good, tmp_path: pathlib.Path) -> None:
    path, offsets, _ = good
    data = bytearray(path.read_bytes())
    data[offsets[2] + 1] ^= 0x01  # record 2's length field
    flipped = tmp_path / "flipped.tfrecord"
    flipped.write_bytes(bytes(data))
    scan = scan_shard(str(flipped))
    assert (scan.records, scan.error_record) == (2, 2)
    assert scan.error == "length checksum mismatch at record 2"
    data = bytearray(path.read_bytes())
    data[offsets[4] + 20] ^= 0x01  # record 4's data: only the full CRC pass sees it
    flipped.write_bytes(bytes(data))
    assert scan_shard(str(flipped)).error is None
    scan = scan_shard(str(flipped), verify_crc=True)
    assert (scan.records, scan.error) == (4, "data checksum mismatch at record 4")


def test_check_shards_names_the_first_bad_shard_and_counts_the_rest(
        good, tmp_path: pathlib.Path) -> None:
    cut = _truncated(good, tmp_path)
    text = tmp_path / "text.tfrecord"
    text.write_text("hello")
    with pytest.raises(RecordError) as info:
        check_shards([str(good[0]), str(cut), str(text)])
    err = info.value
    assert (err.path, err.record, err.offset) == (str(cut), 3, good[1][3])
    assert f"python -m data_tools.inspect_records --records={cut}" in str(err)
    assert "1 more bad shard(s)" in str(err) and str(text) in str(err)


# === make_dataset ===


def test_make_dataset_names_a_broken_shard_before_reading(good, tmp_path) -> None:
    cut = _truncated(good, tmp_path)
    with pytest.raises(RecordError, match=r"cut-00000-of-00001.tfrecord: record 3 "):
        make_dataset([str(good[0]), str(cut)], _config(), training=True)


def test_skip_reads_a_broken_shard_up_to_the_error(good, tmp_path: pathlib.Path) -> None:
    cut = _truncated(good, tmp_path)
    ids = _source_ids(str(cut), "skip")
    assert ids == [r.source_id for r in good[2][:3]]


def _bad_example(kind: str, rec) -> bytes:
    if kind == "point_count":
        return make_example(dataclasses.replace(rec, landmarks=rec.landmarks[:5],
                                                visible=None)).SerializeToString()
    if kind == "non_finite":
        landmarks = np.array(rec.landmarks, np.float32)
        landmarks[7, 1] = np.nan
        return make_example(dataclasses.replace(rec, landmarks=landmarks)).SerializeToString()
    if kind == "image_bytes":
        return make_example(dataclasses.replace(rec, image_bytes=b"not an image at all")
                            ).SerializeToString()
    ex = make_example(rec)  # missing feature
    del ex.features.feature[F.IMAGE_ENCODED]
    return ex.SerializeToString()


BAD_KINDS = {"point_count": "landmarks/xy holds 10 values, the scheme needs 68 points",
             "non_finite": "non-finite landmarks",
             "image_bytes": "image/encoded is not JPEG, PNG",
             "missing": "missing feature image/encoded"}


@pytest.mark.parametrize("kind", sorted(BAD_KINDS))
def test_fail_names_a_bad_record(good, tmp_path: pathlib.Path, kind: str) -> None:
    records = good[2]
    path = tmp_path / f"{kind}.tfrecord"
    _write(path, [make_example(records[0]), make_example(records[1]),
                  _bad_example(kind, records[2]), make_example(records[3])])
    ds = make_dataset(str(path), _config(), training=False, with_metadata=True)
    with pytest.raises(tf.errors.OpError) as info:
        list(ds)
    named = as_record_error(info.value)
    assert named is not None and (named.path, named.record) == (str(path), 2)
    assert BAD_KINDS[kind] in str(named) and "inspect_records" in str(named)


def _unreadable(kind: str, rec) -> bytes:
    if kind == "not_an_example":
        return b"this record holds text, not a tf.train.Example"
    image = rec.image_bytes[:len(rec.image_bytes) // 3]  # starts like a JPEG, does not decode
    return make_example(dataclasses.replace(rec, image_bytes=image)).SerializeToString()


@pytest.mark.parametrize("kind", ["not_an_example", "truncated_jpeg"])
def test_unchecked_failures_are_located(good, tmp_path: pathlib.Path, kind: str) -> None:
    records = good[2]
    path = tmp_path / f"{kind}.tfrecord"
    _write(path, [make_example(records[0]), _unreadable(kind, records[1]),
                  make_example(records[2])])
    ds = make_dataset(str(path), _config(), training=False, with_metadata=True)
    with pytest.raises(tf.errors.OpError) as info:
        list(ds)
    assert as_record_error(info.value) is None  # no marker: read again to find it
    named = as_record_error(info.value, str(path), 68)
    assert named is not None and (named.path, named.record) == (str(path), 1)
    assert "the record does not read" in str(named)
    assert _source_ids(str(path), "skip") == [records[0].source_id, records[2].source_id]


def test_skip_drops_and_counts_bad_records(good, tmp_path: pathlib.Path) -> None:
    records = good[2]
    path = tmp_path / "mixed.tfrecord"
    kinds = sorted(BAD_KINDS)
    _write(path, [make_example(records[0])]
           + [_bad_example(k, records[i + 1]) for i, k in enumerate(kinds)]
           + [make_example(records[5])])
    record_validation.SKIPPED.pop(str(path), None)
    assert _source_ids(str(path), "skip") == [records[0].source_id, records[5].source_id]
    assert record_validation.SKIPPED[str(path)] == {1, 2, 3, 4}


def test_policy_round_trips_and_is_checked() -> None:
    cfg = _config("skip")
    assert config_lib.Config.from_dict(cfg.to_dict()).data.on_bad_record == "skip"
    old = cfg.to_dict()
    del old["data"]["on_bad_record"]
    assert config_lib.Config.from_dict(old).data.on_bad_record == "fail"
    with pytest.raises(ValueError, match="on_bad_record"):
        config_lib.apply_overrides(cfg, ["data.on_bad_record=ignore"])


# === Command lines ===


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    env.pop("TF_CONFIG", None)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)


def test_train_and_evaluate_name_a_truncated_shard(good, tmp_path: pathlib.Path) -> None:
    cut = _truncated(good, tmp_path)
    train = _run("awing_tf.train", "--config=tiny", f"--train_records={cut}",
                 f"--model_dir={tmp_path / 'run'}", "--epochs=1")
    evaluate = _run("awing_tf.evaluate", "--model=300w68_compact", f"--records={cut}",
                    f"--output_dir={tmp_path / 'eval'}")
    for proc in (train, evaluate):
        assert proc.returncode != 0
        assert f"bad TFRecord shard {cut}: record 3" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "config.json").exists()


def test_train_skip_policy_trains_past_bad_records(good, tmp_path: pathlib.Path) -> None:
    records = good[2]
    cut = _truncated(good, tmp_path)
    mixed = tmp_path / "mixed-00000-of-00001.tfrecord"
    _write(mixed, [make_example(records[0]), _bad_example("non_finite", records[1]),
                   make_example(records[2])])
    proc = _run("awing_tf.train", "--config=tiny", f"--train_records={tmp_path}/*-00000-*",
                f"--model_dir={tmp_path / 'run'}", "--epochs=1", "--batch_size=2",
                "--steps_per_epoch=2", "--override=model.num_stacks=1",
                "--override=model.hourglass_depth=1", "--verbose=0", "--on_bad_record=skip")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"bad TFRecord shard {cut}: record 3" in proc.stderr
    assert "skipping the rest of the shard" in proc.stderr
    assert f"skipped bad record {mixed} record 1: non-finite landmarks" in proc.stderr
    assert (tmp_path / "run" / "model.keras").is_file()


def test_every_other_reader_names_a_truncated_shard(good, tmp_path: pathlib.Path) -> None:
    """The library's train() (the demo's path), evaluation, int8 calibration and QAT."""
    from awing_tf.evaluation.predictions import predict_records
    from awing_tf.models.face_aligner import FaceAligner
    from awing_tf.training.loop import train

    cut = _truncated(good, tmp_path)
    before = keras.mixed_precision.global_policy().name
    cfg = config_lib.apply_overrides(_config(), ["train.precision=mixed_bfloat16"])
    with pytest.raises(RecordError, match=f"bad TFRecord shard {cut}: record 3"):
        train(cfg, str(cut), str(tmp_path / "lib_run"))
    assert keras.mixed_precision.global_policy().name == before  # a failed run restores it
    with pytest.raises(RecordError, match=f"{cut}: record 3"):
        predict_records(FaceAligner.from_preset("tiny"), str(cut), _config())
    int8 = _run("export.tflite", "--model=300w68_mobile", "--quantize=int8",
                f"--representative_records={cut}", f"--output={tmp_path / 'm.tflite'}")
    qat = _run("export.qat", "--model=300w68_mobile", f"--train_records={cut}",
               f"--representative_records={cut}", "--config=mobile", "--epochs=1",
               "--steps_per_epoch=1", "--batch_size=2", f"--output={tmp_path / 'q.keras'}")
    for proc in (int8, qat):
        assert proc.returncode != 0
        assert f"bad TFRecord shard {cut}: record 3" in proc.stderr, proc.stderr[-1500:]
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "m.tflite").exists() and not (tmp_path / "q.keras").exists()
