"""A converter killed mid-run leaves no shard that looks complete, and a re-run removes the
stale temporary shards of its prefix and completes."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

from data_tools.records import ShardedWriter, remove_stale_temporaries, write_records

REPO = pathlib.Path(__file__).resolve().parents[1]


def _synthetic(out: pathlib.Path, num: int) -> list[str]:
    return [sys.executable, "-m", "data_tools.synthetic", f"--output={out}", f"--num={num}",
            "--num_shards=2", "--image_size=96"]


def _tmp_sizes(folder: pathlib.Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder.glob("*.tmp")}


def test_sigkill_mid_conversion_then_rerun(tmp_path: pathlib.Path):
    out = tmp_path / "out" / "faces"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen(_synthetic(out, 20000), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        first: dict[str, int] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            sizes = _tmp_sizes(out.parent) if out.parent.is_dir() else {}
            if not first and sizes and sum(sizes.values()) > 0:
                first = sizes
            elif first and sum(sizes.values()) > sum(first.values()):
                break  # a temporary shard exists and is growing
            time.sleep(0.05)
        assert proc.poll() is None, "the converter ended before it could be killed"
        assert first, "no growing temporary shard appeared within the time limit"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    left = sorted(p.name for p in out.parent.iterdir())
    assert not [n for n in left if n.endswith(".tfrecord")], left  # nothing looks complete
    assert [n for n in left if n.endswith(".tfrecord.tmp")], left

    rerun = subprocess.run(_synthetic(out, 6), cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "stale temporary shard" in rerun.stderr
    assert "faces-00000-of-00002.tfrecord.tmp" in rerun.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "faces-00000-of-00002.tfrecord", "faces-00001-of-00002.tfrecord"]


def test_writer_removes_only_its_own_prefix_temporaries(tmp_path: pathlib.Path):
    stale = tmp_path / "x-00002-of-00004.tfrecord.tmp"
    kept = [tmp_path / "x_train-00000-of-00001.tfrecord.tmp",
            tmp_path / "xy-00000-of-00001.tfrecord.tmp",
            tmp_path / "x-00000-of-00001.tfrecord"]
    for p in [stale, *kept]:
        p.write_bytes(b"partial")
    assert remove_stale_temporaries(str(tmp_path / "nothing_here")) == []
    with ShardedWriter(str(tmp_path / "x"), 1) as writer:
        writer.write(b"record")
    assert not stale.exists()
    assert all(p.exists() for p in kept[:2])
    assert writer.paths == [str(tmp_path / "x-00000-of-00001.tfrecord")]
    assert write_records(str(tmp_path / "empty"), [], 1)[0].endswith("-of-00001.tfrecord")
