"""Where a model is: a ``.keras`` file, a training run folder or a pretrained model's name
(no TensorFlow import, so the command-line apps check ``--model`` before loading anything)."""

from __future__ import annotations

import os

from awing_tf import pretrained

MODEL_FILES = ("model.keras", "best.keras", "last.keras")
RUN_CONFIG_FILE = "config.json"


def resolve_model_path(path: str) -> str:
    """``path`` itself if it is a file, the first of model/best/last.keras inside a folder, or
    the checked file of the pretrained model named ``path`` (e.g. ``300w68_compact``).
    ``FileNotFoundError`` names what was looked for."""
    if pretrained.is_pretrained_name(path):
        return pretrained.file_path(path, "keras")
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        for name in MODEL_FILES:
            candidate = os.path.join(path, name)
            if os.path.isfile(candidate):
                return candidate
        raise FileNotFoundError(f"--model {path!r}: folder has none of {MODEL_FILES}")
    raise FileNotFoundError(f"--model not found: {path!r} is no file or folder, nor a pretrained "
                            f"model's name (installed: {pretrained.available() or 'none'})")
