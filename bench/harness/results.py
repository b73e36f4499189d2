"""Result files: JSON read and atomic write, and the key that identifies a run's settings."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from typing import Any


def load_json(path: str) -> dict:
    """The JSON object at ``path``, or ``{}`` when there is no such file."""
    return json.loads(pathlib.Path(path).read_text()) if os.path.isfile(path) else {}


def write_json(path: str, data: Any, indent: int = 2) -> None:
    """Writes ``data`` to ``path`` through a temporary file, so a reader never sees half a
    file; creates the folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=indent)
        fh.write("\n")
    os.replace(tmp, path)


def settings_key(settings: dict) -> str:
    """A short hash of ``settings`` (sorted keys): equal keys mean the same run."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
