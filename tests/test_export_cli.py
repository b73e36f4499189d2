"""The export packages import nothing heavy and leave the environment alone; their command
lines (``python -m export.<name>``) answer ``--help`` and usage errors before TensorFlow is
imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

# ``python -m <argv[1]> <argv[2:]>`` through runpy; at exit (``--help`` and usage errors
# leave through SystemExit) it prints which heavy packages were imported.
_RUN_MODULE = """
import atexit, runpy, sys
atexit.register(lambda: print("HEAVY", sorted(m for m in ("tensorflow", "keras")
                                               if m in sys.modules)))
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def _python(*args: str) -> subprocess.CompletedProcess:
    """``python *args`` in the repository, ``TF_CPP_MIN_LOG_LEVEL`` unset."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_importing_the_packages_imports_no_tensorflow_and_keeps_the_environment():
    code = ("import os, sys\n"
            "import export, export.tflite, export.qat, export.saved_model, export.runner\n"
            "import export.calibration, export.representative\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules),\n"
            "      'TF_CPP_MIN_LOG_LEVEL' in os.environ)")
    proc = _python("-c", code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["[]", "False"]


def test_package_names_load_from_their_modules():
    from export import qat, saved_model, tflite
    from export.qat import fake_quant, fine_tuning
    from export.saved_model import serving
    from export.tflite import conversion, selective, sensitivity

    assert tflite.convert is conversion.convert and tflite.configure is conversion.configure
    assert tflite.layer_tensor_names is selective.layer_tensor_names
    assert tflite.layer_sensitivity is sensitivity.layer_sensitivity
    assert qat.fake_quantized is fake_quant.fake_quantized
    assert qat.finetune is fine_tuning.finetune
    assert saved_model.export_saved_model is serving.export_saved_model
    assert {"convert", "representative_crops", "QUANT_TYPES"} <= set(dir(tflite))
    assert "finetune" in qat.__all__
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        tflite.nothing  # noqa: B018


@pytest.mark.parametrize("cli,args,stream,message", [
    ("export.tflite", ["--help"], "stdout", "--representative_records"),
    ("export.qat", ["--help"], "stdout", "--train_records"),
    ("export.saved_model", ["--help"], "stdout", "--decode"),
    ("export.runner", ["--help"], "stdout", "--tflite"),
    ("export.tflite", ["--model=m.keras"], "stderr", "--output"),
    ("export.tflite", ["--model=m.keras", "--output=o", "--quantize=int8"], "stderr",
     "--quantize=int8 needs --representative_records"),
    ("export.tflite", ["--model=/nonexistent.keras", "--output=o"], "stderr",
     "--model not found"),
    ("export.qat", ["--model=m.keras"], "stderr", "--train_records"),
    ("export.saved_model", ["--model=/nonexistent.keras", "--output=o"], "stderr",
     "--model not found"),
])
def test_cli_answers_before_importing_tensorflow(cli, args, stream, message):
    proc = _python("-c", _RUN_MODULE, cli, *args)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert message in getattr(proc, stream)
    assert "HEAVY []" in proc.stdout
