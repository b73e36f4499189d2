"""Finding and loading a trained model — a ``.keras`` file, a training ``model_dir`` or the
name of a pretrained model shipped in the package — with the settings it was trained with."""

from __future__ import annotations

import json
import os

from awing_tf import pretrained
from awing_tf.config import Config, DataConfig
from awing_tf.model_files import RUN_CONFIG_FILE, resolve_model_path
from awing_tf.models.face_aligner import FaceAligner, load_aligner

__all__ = ["inference_config", "load_model", "resolve_model_path", "run_data_config"]

def load_model(path: str) -> FaceAligner:
    """Loads the FaceAligner at ``path`` (a ``.keras`` file, a model_dir or a pretrained
    name), its ``crop_margin`` set from the run that trained it."""
    model = load_aligner(resolve_model_path(path))
    model.crop_margin = float(run_data_config(path).margin_for(model.spec.scheme))
    return model


def run_data_config(model_path: str) -> DataConfig:
    """The data settings of the run that wrote ``model_path``: its ``config.json`` beside the
    model file when there is one (a pretrained model's manifest gives its crop margin), else
    the defaults (crop margin: the scheme's)."""
    if pretrained.is_pretrained_name(model_path):
        return DataConfig(crop_margin=pretrained.manifest(model_path).get("crop_margin"))
    cfg_file = os.path.join(os.path.dirname(resolve_model_path(model_path)), RUN_CONFIG_FILE)
    if not os.path.isfile(cfg_file):
        return DataConfig()
    with open(cfg_file) as fh:
        try:
            saved = json.load(fh)
        except json.JSONDecodeError as err:
            raise ValueError(f"{cfg_file}: not valid JSON ({err})") from None
    return Config.from_dict(saved).data


def inference_config(model: FaceAligner, model_path: str, crop_margin: float | None = None,
                     batch_size: int = 16) -> Config:
    """The config to evaluate or predict with ``model``: its own geometry, the data settings
    of its run (``crop_margin`` overrides the margin) and ``batch_size``."""
    import dataclasses

    data = run_data_config(model_path)
    if crop_margin is not None:
        data = dataclasses.replace(data, crop_margin=crop_margin)
    cfg = Config.for_model(model.model_config, data=data, name="inference")
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, batch_size=batch_size))
