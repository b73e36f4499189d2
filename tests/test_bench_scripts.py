"""End-to-end smoke tests of the ablation and pose benchmarks on real data, tiny budgets."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.large


def run_module(module: str, *args: str) -> str:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


TINY = ["--preset=tiny", "--epochs=2", "--steps_per_epoch=2", "--probe_steps=2",
        "--batch_size=8"]


def test_ablation_tiny_budget(real_data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "ablation.json"
    args = [f"--data={real_data / '300w_common'}", f"--work_dir={tmp_path / 'work'}",
            f"--out={out}", "--rows=MSE,AW+WM+B+C+CB", "--mse_learning_rate=1e-3",
            "--theta_sweep", *TINY]
    stdout = run_module("bench.ablation", *args)
    result = json.loads(out.read_text())
    assert [r["name"] for r in result["rows"]] == ["MSE", "AW+WM+B+C+CB"]
    assert result["split"]["train_count"] == 330 and result["split"]["test_count"] == 224
    for row in result["rows"]:
        assert np.isfinite([row["nme_io"], row["nme_ip"], row["fr_10"], row["auc_10"]]).all()
        assert [p["epoch"] for p in row["val_curve"]] == [1, 2]
        assert len(row["per_image_nme_io"]) == 224
    assert result["rows"][0]["learning_rate"] == 1e-3
    assert result["rows"][1]["learning_rate"] == result["config"]["learning_rate_aw"]
    assert [r["theta"] for r in result["theta_rows"]] == [0.3, 0.5, 0.7]
    for theta in (0.3, 0.5, 0.7):  # each run trained with its theta (config saved by train)
        saved = json.loads((tmp_path / "work" / "runs" / f"AW_WM_theta{theta}" /
                            "config.json").read_text())
        assert saved["train"]["awing_theta"] == theta
    assert (tmp_path / "ablation_ced.png").is_file()
    assert "AW+WM+B+C+CB" in stdout
    # a second run finds every row done and trains nothing
    before = out.read_text()
    run_module("bench.ablation", *args)
    assert json.loads(out.read_text())["rows"] == json.loads(before)["rows"]


def test_pose_tiny_budget(real_data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "pose.json"
    run_module("bench.pose", f"--data={real_data / 'lspet400'}",
               f"--work_dir={tmp_path / 'work'}", f"--out={out}",
               "--mse_learning_rate=1e-3", *TINY)
    result = json.loads(out.read_text())
    assert result["split"]["train_count"] == 350 and result["split"]["test_count"] == 50
    assert [r["name"] for r in result["rows"]] == ["AW", "MSE"]
    for row in result["rows"]:
        assert set(row["pck"]) >= {"ankle", "knee", "hip", "wrist", "elbow", "shoulder",
                                   "head", "mean"}
        assert 0.0 <= row["pck"]["mean"] <= 100.0


def test_pck_counts_visible_joints_against_the_torso() -> None:
    from bench.pose import pck

    gt = np.zeros((1, 14, 2))
    gt[0, 9] = (0.0, 0.0)  # left shoulder
    gt[0, 2] = (0.0, 10.0)  # right hip: torso 10, threshold 2 px
    pred = gt.copy()
    pred[0, 0] += (1.5, 0.0)  # r-ankle within 2 px
    pred[0, 5] += (3.0, 0.0)  # l-ankle beyond
    pred[0, 13] += (50.0, 0.0)  # head top far, but invisible
    visible = np.ones((1, 14), int)
    visible[0, 13] = 0
    res = pck(pred, gt, visible, 0.2)
    assert res["ankle"] == 50.0 and res["head"] == 100.0 and res["hip"] == 100.0
    assert res["mean"] == pytest.approx(12 / 13 * 100, abs=1e-3)


def test_export_benchmark_tiny(tmp_path: pathlib.Path) -> None:
    import keras

    from awing_tf.models.face_aligner import FaceAligner
    from data_tools.synthetic import write_synthetic
    from export import tflite

    write_synthetic(str(tmp_path / "synth"), 24, image_size=96, seed=5)
    records = str(tmp_path / "synth-*")
    keras.utils.set_random_seed(0)
    model = FaceAligner.from_preset("tiny")
    path = tmp_path / "tiny.keras"
    model.save(path)
    # a local .tflite stands in for MediaPipe's model (no download in tests)
    stand_in = tmp_path / "stand_in.tflite"
    stand_in.write_bytes(tflite.convert(model, "float32"))
    out = tmp_path / "export.json"
    # the same weights stand in for a quantization-aware fine-tuned model
    run_module("bench.export", f"--compact_model={path}", f"--compact_qat_model={path}",
               f"--records={records}",
               "--calibration_samples=8", "--warmup=1", "--runs=3",
               f"--mediapipe_tflite={stand_in}", f"--out={out}",
               f"--save_tflite_dir={tmp_path / 'tflite'}")
    result = json.loads(out.read_text())["results"]
    rows = result["compact"]
    assert rows["keras"]["num_eval_faces"] == 24
    for mode in ("float32", "float16", "dynamic", "int8", "int8_converter_ranges",
                 "int8_exact_ranges", "int8_float_head", "qat_float32", "int8_qat"):
        row = rows[mode]
        assert row["size_bytes"] > 0 and row["latency_ms_1t"] > 0 and row["latency_ms_2t"] > 0
        if mode == "float32":
            assert "nme_gap_vs_float32" not in row
            continue
        # the gap is the difference of the two means; its interval holds it
        assert row["nme_gap_vs_float32"] == pytest.approx(row["nme"] - rows["float32"]["nme"])
        low, high = row["nme_gap_ci95"]
        assert low <= row["nme_gap_vs_float32"] <= high
    # int8 weights are a quarter of float32 ones; graph overhead dominates a tiny model
    assert rows["int8"]["size_bytes"] < 0.75 * rows["float32"]["size_bytes"]
    assert rows["int8_float_head"]["size_bytes"] > rows["int8"]["size_bytes"]
    # identical weights: the qat rows repeat float32 and int8 exactly
    assert rows["qat_float32"]["nme_gap_vs_float32"] == 0.0
    assert rows["int8_qat"]["nme"] == pytest.approx(rows["int8"]["nme"])
    assert result["mediapipe"]["size_bytes"] == stand_in.stat().st_size


def test_reproduce_300w_trains_to_a_budget_and_reports_each_test_set(
        real_data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    from data_tools.convert_300w import convert_300w
    from data_tools.writing import OutputSpec

    convert_300w(real_data / "300w_common" / "LFPW", OutputSpec(str(tmp_path / "lfpw")),
                 limit=40)
    convert_300w(real_data / "300w_common" / "HELEN", OutputSpec(str(tmp_path / "helen")),
                 limit=24)
    out = tmp_path / "300w.json"
    args = [f"--train_records={tmp_path / 'lfpw'}-*", f"--model_dir={tmp_path / 'run'}",
            "--budget_minutes=1.2", f"--test_records=helen={tmp_path / 'helen'}-*",
            f"--out={out}", "--config=tiny", "--override=train.batch_size=8", "--curve_every=1"]
    stdout = run_module("bench.reproduce_300w", *args)
    result = json.loads(out.read_text())
    training = result["training"]
    assert training["epochs"] >= 1 and training["steps_per_epoch"] == 5
    assert training["steps"] == training["epochs"] * 5
    assert training["settings"]["train"]["time_budget_minutes"] == 1.2
    assert training["cpu"] and len(training["load_average"]) == 3
    test = result["tests"]["helen"]
    assert test["count"] == 24 and len(test["per_face"]) == 24
    nmes = np.array([f["nme_io"] for f in test["per_face"]])
    assert test["nme_io"] == pytest.approx(nmes.mean(), abs=1e-3)
    assert test["median_nme_io"] == pytest.approx(np.median(nmes), abs=1e-3)
    assert np.isfinite([test["nme_ip"], test["fr_8"], test["auc_10"]]).all()
    assert "helen: 24 faces" in stdout
    curve = result["learning_curve"]
    assert curve["test_set"] == "helen"
    assert [p["epoch"] for p in curve["points"]] == list(range(1, training["epochs"] + 1))
    assert all(np.isfinite(p["nme_io"]) for p in curve["points"])
    # a finished run is evaluated again, not trained again
    run_module("bench.reproduce_300w", *args)
    assert json.loads(out.read_text())["training"]["budget"] == training["budget"]
