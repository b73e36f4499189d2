"""The training CLI (``python -m awing_tf.train``): help, usage errors, precision choice."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
TIMEOUT_S = 120


def run_app(*args: str) -> subprocess.CompletedProcess:
    """Runs the training app with ``args``; returns the finished process (text output)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    env.pop("TF_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "awing_tf.train", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def test_help_lists_the_flags() -> None:
    proc = run_app("--help")  # absl prints the help and exits with status 1
    assert "Traceback" not in proc.stdout + proc.stderr
    for flag in ("config", "scheme", "train_records", "val_records", "model_dir", "epochs",
                 "batch_size", "learning_rate", "loss", "boundary", "coordconv",
                 "boundary_coords", "strategy", "precision", "seed", "steps_per_epoch",
                 "override"):
        assert f"--{flag}:" in proc.stdout or f"--[no]{flag}:" in proc.stdout, flag


def test_missing_train_records_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    proc = run_app(f"--model_dir={tmp_path / 'run'}")
    assert proc.returncode != 0
    assert "--train_records is required" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("flag", ["train_records", "val_records"])
def test_records_glob_matching_nothing_names_the_pattern(tmp_path: pathlib.Path,
                                                         flag: str) -> None:
    pattern = str(tmp_path / "nothing-*.tfrecord")
    args = {"train_records": pattern, "val_records": None}
    if flag == "val_records":
        from data_tools.synthetic import write_synthetic

        write_synthetic(str(tmp_path / "train"), num=2, image_size=64, seed=0)
        args = {"train_records": str(tmp_path / "train-*"), "val_records": pattern}
    proc = run_app("--config=tiny", f"--model_dir={tmp_path / 'run'}",
                   *(f"--{k}={v}" for k, v in args.items() if v))
    assert proc.returncode != 0
    assert f"--{flag}" in proc.stderr and pattern in proc.stderr
    assert "matches no files" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_bad_override_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    from data_tools.synthetic import write_synthetic

    write_synthetic(str(tmp_path / "train"), num=2, image_size=64, seed=0)
    proc = run_app("--config=tiny", f"--train_records={tmp_path / 'train-*'}",
                   f"--model_dir={tmp_path / 'run'}", "--override=train.no_such_field=1")
    assert proc.returncode != 0
    assert "no_such_field" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("bf16", "expected"), [(True, "mixed_bfloat16"), (False, "float32")])
def test_auto_precision_follows_cpu_bf16(monkeypatch: pytest.MonkeyPatch, bf16: bool,
                                         expected: str) -> None:
    from awing_tf.training import runtime as training

    monkeypatch.setattr(training.tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(training, "cpu_has_bf16", lambda: bf16)
    assert training.resolve_precision("auto") == expected
    assert training.resolve_precision("float32") == "float32"
    with pytest.raises(ValueError, match="precision"):
        training.resolve_precision("float64")


def test_cpu_has_bf16_reads_cpuinfo_flags(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: pathlib.Path) -> None:
    import builtins

    from awing_tf.training import runtime as training

    real_open = builtins.open
    cpuinfo = tmp_path / "cpuinfo"

    def fake_open(path: str, *args: object, **kwargs: object) -> object:
        return real_open(cpuinfo if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    cpuinfo.write_text("flags\t\t: fpu avx512f avx512_bf16 amx_tile\n")
    assert training.cpu_has_bf16()
    cpuinfo.write_text("flags\t\t: fpu sse4_2 avx2\n")
    assert not training.cpu_has_bf16()


def test_configure_threads_sets_pools_before_tensorflow_starts() -> None:
    code = ("import tensorflow as tf\n"
            "from awing_tf.training.runtime import configure_threads\n"
            "print(configure_threads(1, 2), tf.config.threading.get_inter_op_parallelism_threads(),"
            " tf.config.threading.get_intra_op_parallelism_threads())\n"
            "tf.constant(1.0) + 1.0\n"
            "print(configure_threads(2, 2), configure_threads(1, 2))\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "1", "2", "False", "True"]
    from awing_tf.training.runtime import configure_threads

    with pytest.raises(ValueError, match="inter_op_threads"):
        configure_threads(-1, 0)
