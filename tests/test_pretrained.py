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
