"""Pretrained models: manifests, SHA-256 checks and loading by name."""

from __future__ import annotations

import hashlib
import json

import pytest

from awing_tf import pretrained


def _install(root, name: str, payload: bytes) -> None:
    (root / f"{name}.keras").write_bytes(payload)
    (root / f"{name}.json").write_text(json.dumps({
        "scheme": "300w68", "crop_margin": 0.0,
        "files": {"keras": {"file": f"{name}.keras",
                            "sha256": hashlib.sha256(payload).hexdigest()}}}))


def test_files_are_found_by_name_and_checked_against_the_manifest(tmp_path):
    _install(tmp_path, "demo68", b"weights")
    assert pretrained.available(tmp_path) == ["demo68"]
    assert pretrained.file_path("demo68", root=tmp_path) == str(tmp_path / "demo68.keras")
    with pytest.raises(KeyError, match="no tflite file"):
        pretrained.file_path("demo68", "tflite", root=tmp_path)
    with pytest.raises(KeyError, match="installed: \\['demo68'\\]"):
        pretrained.manifest("other", root=tmp_path)
    (tmp_path / "demo68.keras").write_bytes(b"weightz")
    with pytest.raises(ValueError, match="SHA-256"):
        pretrained.file_path("demo68", root=tmp_path)
    (tmp_path / "demo68.keras").unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        pretrained.file_path("demo68", root=tmp_path)


def test_a_path_on_disk_is_never_taken_for_a_name(tmp_path, monkeypatch):
    _install(tmp_path, "demo68", b"w")
    monkeypatch.chdir(tmp_path)
    assert not pretrained.is_pretrained_name("demo68.json", root=tmp_path)
    assert pretrained.is_pretrained_name("demo68", root=tmp_path)
    (tmp_path / "demo68").mkdir()  # a folder of that name in the working directory wins
    assert not pretrained.is_pretrained_name("demo68", root=tmp_path)


def test_export_pretrained_packages_a_run_that_loads_by_name(tmp_path):
    import numpy as np

    import awing_tf
    from awing_tf.models.face_aligner import load_aligner
    from export.pretrained import package

    run = tmp_path / "run"
    run.mkdir()
    model = awing_tf.FaceAligner.from_preset("tiny", num_stacks=1)
    model.compile(optimizer="rmsprop", loss="mse")
    model.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"data": {"crop_margin": 0.2}}))
    (run / "budget.json").write_text(json.dumps({"epochs_done": 3, "steps_per_epoch": 5,
                                                 "minutes_used": 1.5}))
    tflite = tmp_path / "m.tflite"
    tflite.write_bytes(b"\x00tflite")
    shipped = tmp_path / "pretrained"
    manifest = package(str(run), "tiny68", str(shipped), "synthetic faces", "none",
                       "awing-train ...", tflite=str(tflite))
    assert manifest["crop_margin"] == 0.2 and manifest["input_size"] == 64
    assert manifest["training"]["epochs"] == 3 and manifest["training"]["minutes"] == 1.5
    assert pretrained.available(shipped) == ["tiny68"]
    path = pretrained.file_path("tiny68", root=shipped)
    restored = load_aligner(path)
    x = np.random.default_rng(0).uniform(0, 1, (2, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(restored.predict_landmarks(x), model.predict_landmarks(x),
                               atol=1e-5)
    assert getattr(restored, "optimizer", None) is None  # shipped without compile state
    assert pretrained.file_path("tiny68", "tflite", root=shipped).endswith("tiny68_int8.tflite")
    assert not list(shipped.glob("*.partial*"))


def test_the_shipped_models_fit_the_size_budget_and_match_their_manifests():
    names = pretrained.available()
    if not names:
        pytest.skip("no pretrained model is installed")
    total = 0
    for name in names:
        info = pretrained.manifest(name)
        assert info["scheme"] == "300w68" and info["crop_margin"] >= 0
        for kind, entry in info["files"].items():
            path = pretrained.file_path(name, kind)  # raises on a SHA-256 mismatch
            total += entry["bytes"]
            assert entry["bytes"] == len(open(path, "rb").read())
    assert total <= 15_000_000, f"pretrained files take {total / 1e6:.2f} MB"
