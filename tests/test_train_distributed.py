"""Distributed training: MultiWorkerMirroredStrategy over two local worker processes and
MirroredStrategy over two logical CPU devices agree with a single-process run.

All runs train the ``tiny`` preset with ``awing_tf.training.loop.train`` for a few steps on the
same deterministic data and global batch (``tests/train_helpers.py``); they are launched
together, each in its own process, because a strategy must be chosen before TensorFlow
initialises.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
STEPS = 3
BATCH = 4
TIMEOUT_S = 600  # generous: the runs share 2 cores and may share them with others
RTOL = 1e-3


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (bound to port 0, then released)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def write_records(tmp: pathlib.Path) -> tuple[str, str]:
    """Small synthetic train/val shards at 64 px; returns their globs."""
    from data_tools.synthetic import write_synthetic

    write_synthetic(str(tmp / "train"), num=24, image_size=64, seed=0)
    write_synthetic(str(tmp / "val"), num=6, image_size=64, seed=1)
    return str(tmp / "train-*"), str(tmp / "val-*")


def launch(spec: dict, log: pathlib.Path, tf_config: dict | None = None) -> subprocess.Popen:
    """Starts ``tests.train_helpers`` with ``spec``; stdout and stderr go to ``log``."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    with open(log, "w") as fh:
        return subprocess.Popen([sys.executable, "-m", "tests.train_helpers", json.dumps(spec)],
                                cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Runs the four trainings concurrently; returns each one's result, model_dir, log."""
    tmp = tmp_path_factory.mktemp("distributed")
    train_records, val_records = write_records(tmp)
    base = dict(train_records=train_records, steps=STEPS, epochs=1, batch_size=BATCH)
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    specs = {
        "single": dict(base, strategy="default", val_records=val_records),
        "mirrored": dict(base, strategy="mirrored", logical_cpus=2),
        "worker0": dict(base, strategy="multi_worker"),
        "worker1": dict(base, strategy="multi_worker"),
    }
    procs = {}
    for name, spec in specs.items():
        spec.update(model_dir=str(tmp / name), out=str(tmp / f"{name}.json"))
        tf_config = None
        if name.startswith("worker"):
            tf_config = {"cluster": cluster, "task": {"type": "worker", "index": int(name[-1])}}
        procs[name] = launch(spec, tmp / f"{name}.log", tf_config)
    deadline = time.monotonic() + TIMEOUT_S
    results = {}
    for name, proc in procs.items():
        try:
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        log = (tmp / f"{name}.log").read_text()
        out = pathlib.Path(specs[name]["out"])
        results[name] = {
            "code": code,
            "log_tail": log[-3000:],
            "model_dir": pathlib.Path(specs[name]["model_dir"]),
            "result": json.loads(out.read_text()) if code == 0 and out.exists() else None,
        }
    return results


def _ok(run: dict) -> dict:
    assert run["code"] == 0, f"exit code {run['code']}; log tail:\n{run['log_tail']}"
    assert run["result"] is not None
    return run["result"]


def test_multi_worker_matches_single_process(runs: dict[str, dict]) -> None:
    single, w0, w1 = (_ok(runs[n]) for n in ("single", "worker0", "worker1"))
    assert (w0["workers"], w0["replicas"], w0["chief"]) == (2, 2, True)
    assert (w1["workers"], w1["replicas"], w1["chief"]) == (2, 2, False)
    assert single["replicas"] == 1
    assert len(single["batch_losses"]) == STEPS
    for worker in (w0, w1):
        np.testing.assert_allclose(worker["batch_losses"], single["batch_losses"], rtol=RTOL)
        np.testing.assert_allclose(worker["history"]["loss"], single["history"]["loss"],
                                   rtol=RTOL)


def test_multi_worker_data_sharding_splits_each_global_batch(runs: dict[str, dict]) -> None:
    """AutoShardPolicy.DATA: worker 0 gets the first half of every global batch, worker 1
    the second half, so together they see exactly the single-process batches."""
    single, w0, w1 = (_ok(runs[n]) for n in ("single", "worker0", "worker1"))
    assert len(single["fingerprints"]) >= 2
    for glob_b, b0, b1 in zip(single["fingerprints"], w0["fingerprints"], w1["fingerprints"],
                              strict=True):
        assert len(glob_b) == BATCH and len(b0) == len(b1) == BATCH // 2
        np.testing.assert_allclose(b0 + b1, glob_b, rtol=1e-6)
    assert single["fingerprints"][0] != single["fingerprints"][1]


def test_multi_worker_only_chief_writes_model_dir(runs: dict[str, dict]) -> None:
    """Each worker gets its own model_dir (as on separate machines): the chief's holds the
    run's outputs, the non-chief's only its scratch folder."""
    _ok(runs["worker0"])
    _ok(runs["worker1"])
    chief_dir, other_dir = runs["worker0"]["model_dir"], runs["worker1"]["model_dir"]
    chief_files = {p.name for p in chief_dir.iterdir()}
    assert {"model.keras", "config.json", "log.csv", "tensorboard"} <= chief_files
    assert "workers_scratch" not in chief_files
    assert "backup" not in chief_files  # BackupAndRestore deletes it after a finished run
    assert [p.name for p in other_dir.iterdir()] == ["workers_scratch"]
    scratch = other_dir / "workers_scratch"
    assert [p.name for p in scratch.iterdir()] == ["worker_1"]
    assert (scratch / "worker_1" / "model.keras").is_file()
    assert not (scratch / "worker_1" / "tensorboard").exists()


def test_mirrored_two_logical_cpus_matches_single_device(runs: dict[str, dict]) -> None:
    single, mirrored = _ok(runs["single"]), _ok(runs["mirrored"])
    assert mirrored["replicas"] == 2
    np.testing.assert_allclose(mirrored["batch_losses"][0], single["batch_losses"][0],
                               rtol=RTOL)
    np.testing.assert_allclose(mirrored["batch_losses"], single["batch_losses"], rtol=RTOL)
    assert mirrored["fingerprints"] == single["fingerprints"]
    assert (runs["mirrored"]["model_dir"] / "model.keras").is_file()


def test_tensorboard_scalars_and_heatmap_images(runs: dict[str, dict]) -> None:
    """The single-process run had validation records: TensorBoard gets train and validation
    scalars and the heatmap image summaries."""
    import tensorflow as tf

    result = _ok(runs["single"])
    assert "val_loss" in result["history"]
    tb = runs["single"]["model_dir"] / "tensorboard"
    for sub in ("train", "validation", "heatmaps"):
        assert list((tb / sub).glob("events.out.tfevents.*")), f"no events in {sub}"
    tags = set()
    for path in (tb / "heatmaps").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(v.tag for v in event.summary.value)
    assert {"input", "predicted_heatmaps"} <= tags
