"""One measurement per process: the child prints ``RESULT {json}``, the parent reads it.

A process of its own gives each measurement its own peak memory and TensorFlow thread pools
(fixed at start-up).
"""

from __future__ import annotations

import json
import os
import subprocess

PREFIX = "RESULT "


def print_result(result: dict) -> None:
    """Reports ``result`` to the parent (the child's side)."""
    print(PREFIX + json.dumps(result), flush=True)


def run_for_result(cmd: list[str]) -> dict:
    """Runs ``cmd`` (TensorFlow logging quiet) and returns the last ``RESULT`` it printed;
    raises ``RuntimeError`` with the end of its stderr when it failed or printed none."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len(PREFIX):])
