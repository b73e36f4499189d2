"""awing_tf's TensorFlow environment default: oneDNN kernels on unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

PROBE = ("import {module}; from tensorflow.python.util import _pywrap_util_port as p; "
         "import os; print(os.environ['TF_ENABLE_ONEDNN_OPTS'], p.IsMklEnabled())")


def _probe(module: str, value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = value
    res = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("module", ["awing_tf", "export.tflite", "data_tools.records"])
def test_importing_the_project_first_turns_onednn_on(module):
    assert _probe(module, None) == "1 True"


def test_a_users_choice_is_kept():
    assert _probe("awing_tf", "0") == "0 False"
