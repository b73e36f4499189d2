"""Starting a training app in a subprocess and killing it at a chosen moment, for the
resume tests."""

from __future__ import annotations

import csv
import os
import pathlib
import signal
import subprocess
import time
from collections.abc import Callable

REPO = pathlib.Path(__file__).resolve().parents[1]


def app_env() -> dict[str, str]:
    """The environment of a training app: quiet TensorFlow, this checkout, no cluster."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    env.pop("TF_CONFIG", None)
    return env


def csv_epochs(path: pathlib.Path) -> list[int]:
    """The epoch column of a Keras CSVLogger file (empty if the file is not there yet)."""
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [int(row["epoch"]) for row in csv.DictReader(fh) if row.get("epoch")]


def kill_when(cmd: list[str], log: pathlib.Path, ready: Callable[[], bool],
              timeout_s: float, settle_s: float = 0.0) -> subprocess.Popen:
    """Runs ``cmd`` (output to ``log``) until ``ready()`` holds, waits ``settle_s`` and kills
    it with SIGKILL; fails if it ends by itself or ``timeout_s`` passes first."""
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, env=app_env(), stdout=fh,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            assert proc.poll() is None, f"run ended early:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "the run did not get there in time"
            time.sleep(0.1)
        time.sleep(settle_s)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return proc
