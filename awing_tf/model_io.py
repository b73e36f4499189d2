"""Finding and loading a trained model from a ``.keras`` file or a training ``model_dir``."""

from __future__ import annotations

import dataclasses
import json
import os

from awing_tf.config import DataConfig
from awing_tf.models.face_aligner import FaceAligner, load_aligner

MODEL_FILES = ("model.keras", "best.keras", "last.keras")


def resolve_model_path(path: str) -> str:
    """``path`` itself if it is a file, else the first of model/best/last.keras inside it."""
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        for name in MODEL_FILES:
            candidate = os.path.join(path, name)
            if os.path.isfile(candidate):
                return candidate
        raise FileNotFoundError(f"--model {path!r}: folder has none of {MODEL_FILES}")
    raise FileNotFoundError(f"--model {path!r}: no such file or folder")


def load_model(path: str) -> FaceAligner:
    """Loads the FaceAligner at ``path`` (a ``.keras`` file or a model_dir)."""
    return load_aligner(resolve_model_path(path))


def data_config_for(model: FaceAligner, model_path: str,
                    crop_margin: float | None = None) -> DataConfig:
    """Evaluation DataConfig matching the model; the crop margin comes from the run's
    ``config.json`` when there is one, else the scheme's default (WFLW 0.1, others 0)."""
    mc = model.model_config
    margin = 0.1 if mc.scheme == "wflw98" else 0.0
    cfg_file = os.path.join(os.path.dirname(resolve_model_path(model_path)), "config.json")
    if os.path.isfile(cfg_file):
        with open(cfg_file) as fh:
            saved = json.load(fh).get("data", {})
        margin = float(saved.get("crop_margin", margin))
    if crop_margin is not None:
        margin = crop_margin
    return dataclasses.replace(
        DataConfig(), scheme=mc.scheme, input_size=mc.input_size, heatmap_size=mc.heatmap_size,
        use_boundary=mc.use_boundary, crop_margin=margin,
    )
