"""Fault tolerance: a training run killed mid-epoch resumes at its last completed epoch."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

from tests.run_helpers import REPO, app_env, csv_epochs, kill_when

EPOCHS = 3
STEPS = 24  # a 1-stack tiny model: ~1 s per epoch, so the kill lands inside an epoch
TIMEOUT_S = 300


def test_killed_run_resumes_from_last_completed_epoch(tmp_path: pathlib.Path) -> None:
    from data_tools.synthetic import write_synthetic

    write_synthetic(str(tmp_path / "train"), num=16, image_size=64, seed=0)
    model_dir = tmp_path / "run"
    log_csv = model_dir / "log.csv"
    cmd = [sys.executable, "-m", "awing_tf.train", "--config=tiny",
           "--override=model.num_stacks=1", "--override=model.hourglass_depth=1",
           f"--train_records={tmp_path / 'train-*'}", f"--model_dir={model_dir}",
           f"--epochs={EPOCHS}", f"--steps_per_epoch={STEPS}", "--batch_size=4",
           "--precision=float32", "--verbose=0"]
    # killed inside the next epoch (its STEPS steps take several seconds)
    kill_when(cmd, tmp_path / "first.log", lambda: bool(csv_epochs(log_csv)), TIMEOUT_S,
              settle_s=0.5)
    done = csv_epochs(log_csv)
    metadata = json.loads((model_dir / "backup" / "training_metadata.json").read_text())
    assert 1 <= len(done) < EPOCHS, done
    assert done == list(range(len(done)))
    assert metadata["epoch"] == len(done)  # the backup is of the last completed epoch
    assert not (model_dir / "model.keras").exists()

    second = subprocess.run(cmd, cwd=REPO, env=app_env(), capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert second.returncode == 0, second.stderr[-3000:]
    epochs = csv_epochs(log_csv)
    assert epochs == list(range(EPOCHS)), epochs  # continued at len(done), not at 0
    assert epochs[len(done):] == list(range(len(done), EPOCHS))  # the restart ran N - k
    assert (model_dir / "model.keras").is_file()
    assert not (model_dir / "backup").exists()  # removed once the run has finished
