"""Training to a wall-clock budget: the plan, the stop, and a resumed run keeping its plan."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from awing_tf.training import budget
from tests.run_helpers import REPO, app_env, csv_epochs, kill_when

TIMEOUT_S = 400


def test_epochs_for_budget_by_hand():
    timing = budget.StepTiming(seconds_per_step=0.5, epoch_overhead_seconds=2.0,
                               validation_seconds=3.0, tracing_seconds=30.0)
    # (10 min - 15 s - 30 s tracing) / (20 * 0.5 + 2 + 3 s per epoch) = 555 / 15 = 37
    assert budget.epochs_for_budget(10.0, timing, 20) == 37
    assert budget.epochs_for_budget(0.1, timing, 20) == 1  # never less than one epoch


def test_clock_stops_in_the_epoch_the_budget_runs_out_and_records_it(tmp_path):
    ledger = budget.Ledger(str(tmp_path))
    ledger.start(1e-4, 4, 50, budget.StepTiming(0.01, 0.0, 0.0))  # 6 ms: gone after batch 1
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    x = np.zeros((16, 2), np.float32)

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.01)

    ends = []
    ender = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: ends.append(e))
    model.fit(x, x[:, :1], batch_size=4, epochs=50, verbose=0,
              callbacks=[Slow(), budget.BudgetClock(ledger), ender])
    saved = json.loads((tmp_path / budget.BUDGET_FILE).read_text())
    assert ends == [0]  # the epoch in which the time ran out still ended (checkpoints run)
    assert saved["stopped_by_budget"] and saved["finished"] and saved["epochs_done"] == 1
    assert saved["minutes_used"] >= 1e-4
    assert budget.Ledger(str(tmp_path)).plan_for(1e-4, 4)["epochs"] == 50
    assert budget.Ledger(str(tmp_path)).plan_for(1e-4, 5) is None  # other epoch length


@pytest.mark.large  # three training processes, two of them to the 1.5-minute budget
def test_cli_budget_plans_resumes_with_the_same_plan_and_does_not_train_twice(tmp_path):
    from data_tools.synthetic import write_synthetic

    write_synthetic(str(tmp_path / "train"), num=16, image_size=64, seed=0)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "awing_tf.train", "--config=tiny",
           "--override=model.num_stacks=1", "--override=model.hourglass_depth=1",
           f"--train_records={tmp_path / 'train-*'}", f"--model_dir={run}",
           "--time_budget_minutes=1.5", "--steps_per_epoch=16", "--batch_size=4",
           "--precision=float32", "--verbose=0"]
    env = app_env()
    kill_when(cmd, tmp_path / "first.log", lambda: len(csv_epochs(run / "log.csv")) >= 1,
              TIMEOUT_S)
    plan = json.loads((run / budget.BUDGET_FILE).read_text())
    config = json.loads((run / "config.json").read_text())
    assert plan["epochs"] >= 2 and config["train"]["epochs"] == plan["epochs"]
    assert config["train"]["time_budget_minutes"] == 1.5
    assert 0 < plan["minutes_used"] < 1.5 and not plan["finished"]

    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "keeping the run's plan" in second.stderr
    after = json.loads((run / budget.BUDGET_FILE).read_text())
    assert after["probe"] == plan["probe"] and after["epochs"] == plan["epochs"]
    assert after["finished"] and after["minutes_used"] <= 1.5 + 0.25
    epochs = csv_epochs(run / "log.csv")
    assert epochs == list(range(len(epochs))) and len(epochs) <= plan["epochs"]
    if not after["stopped_by_budget"]:
        assert len(epochs) == plan["epochs"]
    assert (run / "model.keras").is_file() and not (run / "budget_probe").exists()

    third = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT_S)
    assert third.returncode == 0 and "already ended within its time budget" in third.stderr
    assert csv_epochs(run / "log.csv") == epochs  # nothing trained again

