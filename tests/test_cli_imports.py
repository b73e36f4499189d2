"""The command-line apps answer ``--help`` and usage errors without importing TensorFlow."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]

# Runs an app's ``run()`` with the given argv and, at exit, prints which heavy packages were
# imported (``--help`` and usage errors leave through SystemExit).
_PROBE = """
import atexit, sys
atexit.register(lambda: print("HEAVY", sorted(m for m in ("tensorflow", "keras", "cv2")
                                               if m in sys.modules)))
sys.argv = sys.argv[1:]
import importlib
importlib.import_module(sys.argv[0]).run()
"""


def _probe(module: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", _PROBE, module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", ["awing_tf.cli.train", "awing_tf.cli.evaluate",
                                    "awing_tf.cli.predict"])
def test_help_imports_no_tensorflow(module):
    proc = _probe(module, "--help")  # absl exits with status 1 after --help
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "--model" in proc.stdout or "--train_records" in proc.stdout
    assert "HEAVY []" in proc.stdout


@pytest.mark.parametrize("module,args,message", [
    ("awing_tf.cli.train", ["--model_dir=/tmp/x"], "--train_records is required"),
    ("awing_tf.cli.train", ["--train_records=a", "--model_dir=b", "--override=x=1"],
     "no config field"),
    ("awing_tf.cli.evaluate", ["--records=a"], "--model"),
    ("awing_tf.cli.predict", ["--input=a"], "--output_dir"),
])
def test_usage_errors_import_no_tensorflow(module, args, message):
    proc = _probe(module, *args)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert "HEAVY []" in proc.stdout


def test_importing_the_package_imports_no_tensorflow():
    code = "import sys, awing_tf; print(awing_tf.__version__, 'tensorflow' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stdout.split() == ["0.1.0", "False"], proc.stderr[-2000:]
