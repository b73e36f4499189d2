"""bench/harness and the export benchmark's MediaPipe reference: the parts that need no
training (machine record, result files, budgets, run configs, the MediaPipe row)."""

from __future__ import annotations

import json

import pytest

from bench.harness.machine import machine_info
from bench.harness.plan import rate_for
from bench.harness.results import load_json, settings_key, write_json
from bench.harness.run_config import Variant, run_config, with_batch_size
from bench.harness.timing import default_every, epochs_for_budget
from bench.mediapipe_reference import check_model_file, latency_ratios

BASE = dict(preset="tiny", scheme="300w68", seed=3, batch_size=4, precision="float32",
            decay_fractions=(0.5,), decay_factor=0.1, overrides=())


def test_machine_info_names_the_cpu_and_the_load():
    info = machine_info()
    assert set(info) == {"cpu_model", "cpu_count", "load_average"}
    assert isinstance(info["cpu_model"], str) and info["cpu_model"]
    assert len(info["load_average"]) == 3


def test_results_round_trip_and_settings_keys(tmp_path):
    path = str(tmp_path / "sub" / "r.json")
    assert load_json(path) == {}
    write_json(path, {"a": [1, 2]}, indent=1)
    assert load_json(path) == {"a": [1, 2]}
    assert not (tmp_path / "sub" / "r.json.tmp").exists()
    assert settings_key({"a": 1, "b": (1, 2)}) == settings_key({"b": [1, 2], "a": 1})
    assert settings_key({"a": 1}) != settings_key({"a": 2})


def test_epochs_fit_the_budget():
    timing = {"seconds_per_step": 0.5, "epoch_overhead_seconds": 1.0, "eval_seconds": 2.0}
    # 10 min = 600 s - 60 fixed - 20 x 2 s evaluation = 500 s; 10 steps + 1 s = 6 s/epoch
    assert epochs_for_budget(10.0, timing, 10) == 83
    assert epochs_for_budget(0.1, timing, 10) == 1
    assert default_every(83) == 5 and default_every(3) == 1


def test_run_config_sets_the_variant_and_the_schedule():
    cfg = run_config(variant=Variant("mse", False, True, False), epochs=7,
                     learning_rate=1e-3, **BASE)
    assert cfg.name == "tiny-mse"
    assert not cfg.spec.use_boundary and cfg.model.use_coordconv
    assert not cfg.model.use_boundary_coords
    assert (cfg.train.loss, cfg.train.epochs, cfg.train.batch_size) == ("mse", 7, 4)
    assert cfg.train.lr_decay_fractions == (0.5,) and cfg.data.seed == 3
    assert with_batch_size(cfg, 32).train.batch_size == 32
    theta = run_config(variant=Variant("awing", True, True, True), epochs=1,
                       learning_rate=1e-3, **{**BASE, "overrides": ("train.awing_theta=0.3",)})
    assert theta.train.awing_theta == 0.3 and theta.spec.use_boundary


def test_mse_rows_get_the_mse_rate():
    plan = {"learning_rate": 2.5e-4, "mse_learning_rate": 1e-3}
    assert rate_for(plan, "mse_map") == 1e-3 and rate_for(plan, "awing_nomap") == 2.5e-4


def test_a_missing_mediapipe_model_says_how_to_obtain_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        check_model_file(str(tmp_path / "face_landmark.tflite"))
    message = str(err.value)
    assert "pip download --no-deps mediapipe==0.10.14" in message
    assert "mediapipe/modules/face_landmark/face_landmark.tflite" in message


def test_ratios_need_a_mediapipe_row():
    mobile = {"keras": {"latency_ms_1t": 9.0, "latency_ms_2t": 9.0},
              "int8": {"latency_ms_1t": 1.0, "latency_ms_2t": 3.0}}
    assert latency_ratios({"mobile": mobile, "mediapipe": None}) == {}
    ratios = latency_ratios({"mobile": mobile,
                             "mediapipe": {"latency_ms_1t": 2.0, "latency_ms_2t": 2.0}})
    assert json.loads(json.dumps(ratios)) == {"mobile_int8_over_mediapipe_1t": 0.5,
                                              "mobile_int8_over_mediapipe_2t": 1.5}
