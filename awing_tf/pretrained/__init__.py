"""Pretrained models shipped inside the package, each with a manifest.

A model ``NAME`` is ``NAME.json`` (the manifest: scheme, input size, crop margin, training
data and its terms, the recipe command, and the SHA-256 of every file) beside the files it
names (``NAME.keras``, and for mobile models ``NAME_int8.tflite``). Files are checked against
their SHA-256 when loaded. No TensorFlow import.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from typing import Any

DEFAULT_MODEL = "300w68_compact"
DEFAULT_TFLITE = "300w68_mobile"
_ROOT = pathlib.Path(__file__).resolve().parent


def available(root: os.PathLike | None = None) -> list[str]:
    """Names of the pretrained models whose manifest is installed."""
    base = pathlib.Path(root) if root else _ROOT
    return sorted(p.stem for p in base.glob("*.json"))


def manifest(name: str, root: os.PathLike | None = None) -> dict[str, Any]:
    """The manifest of pretrained model ``name``; ``KeyError`` naming the installed ones."""
    base = pathlib.Path(root) if root else _ROOT
    path = base / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no pretrained model named {name!r}; installed: "
                       f"{available(base) or 'none'}")
    with open(path) as fh:
        return json.load(fh)


def sha256(path: os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_path(name: str, kind: str = "keras", root: os.PathLike | None = None) -> str:
    """The checked path of pretrained model ``name``'s ``kind`` file (``keras`` or
    ``tflite``): it must exist and match the manifest's SHA-256, else ``ValueError``."""
    base = pathlib.Path(root) if root else _ROOT
    info = manifest(name, base)
    files = info.get("files", {})
    if kind not in files:
        raise KeyError(f"pretrained model {name!r} has no {kind} file (it has {sorted(files)})")
    entry = files[kind]
    path = base / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"pretrained model {name!r}: {path} is missing")
    got = sha256(path)
    if got != entry["sha256"]:
        raise ValueError(f"pretrained model {name!r}: {path} has SHA-256 {got}, the manifest "
                         f"says {entry['sha256']} (a damaged or replaced file)")
    return str(path)


def is_pretrained_name(text: str, root: os.PathLike | None = None) -> bool:
    """Whether ``text`` names an installed pretrained model (and is not a path on disk)."""
    return not os.path.exists(text) and text in available(root)
