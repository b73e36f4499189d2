"""Config: one owner for the heatmap geometry, overrides, and run files old and new."""

from __future__ import annotations

import dataclasses
import json

import pytest

from awing_tf import config as cfg_lib
from awing_tf.config import Config, DataConfig, HeatmapSpec, ModelConfig


def test_geometry_has_one_owner_that_model_and_codec_read():
    c = cfg_lib.apply_overrides(cfg_lib.preset("compact"), ["spec.heatmap_size=64",
                                                           "input_size=256"])
    assert c.spec == HeatmapSpec("300w68", 256, 64, True) and c.model.spec is c.spec
    assert (c.model.input_size, c.model.heatmap_size) == (256, 64)
    assert {f.name for f in dataclasses.fields(DataConfig)}.isdisjoint(
        {"scheme", "input_size", "heatmap_size", "use_boundary", "batch_size"})
    # the older section spellings name the same single field
    for key in ("model.heatmap_size", "data.heatmap_size"):
        d = cfg_lib.apply_overrides(c, [f"{key}=16", "input_size=64"])
        assert d.spec.heatmap_size == 16
    assert cfg_lib.apply_overrides(c, ["data.batch_size=5"]).train.batch_size == 5
    assert cfg_lib.apply_overrides(c, ["spec.use_boundary=false"]).model.num_outputs == 68


def test_scheme_facts_come_from_the_scheme():
    assert DataConfig().margin_for("wflw98") == pytest.approx(0.1)
    assert DataConfig().margin_for("300w68") == 0.0
    assert DataConfig(crop_margin=0.25).margin_for("wflw98") == 0.25
    wflw = cfg_lib.preset("tiny", scheme="wflw98")
    assert wflw.spec.landmark_scheme.attribute_names[0] == "pose"
    assert wflw.model.num_outputs == 99


def test_bad_values_name_the_field():
    with pytest.raises(ValueError, match="heatmap_size"):
        HeatmapSpec(heatmap_size=0)
    with pytest.raises(ValueError, match="unknown scheme"):
        HeatmapSpec(scheme="300w69")
    with pytest.raises(ValueError, match="spec.scheme"):
        cfg_lib.apply_overrides(cfg_lib.preset("tiny"), ["spec.scheme=nope"])
    with pytest.raises(ValueError, match="unknown section"):
        cfg_lib.apply_overrides(cfg_lib.preset("tiny"), ["optimizer.lr=1"])
    with pytest.raises(ValueError, match="unknown fields"):
        ModelConfig.from_dict({"num_stacks": 1, "width": 3})


def test_config_round_trips_through_json_and_reads_the_older_flat_layout():
    c = cfg_lib.apply_overrides(cfg_lib.preset("tiny", "cofw29"),
                                ["train.lr_decay_fractions=0.5,0.75", "data.sigma=2"])
    assert Config.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    older = {  # a run's config.json before the geometry had its own spec
        "name": "tiny",
        "model": {"scheme": "cofw29", "num_stacks": 2, "num_features": 16, "input_size": 64,
                  "heatmap_size": 16, "hourglass_depth": 2, "use_boundary": True},
        "data": {"scheme": "cofw29", "input_size": 64, "heatmap_size": 16,
                 "use_boundary": True, "sigma": 2.0, "crop_margin": 0.0, "batch_size": 8},
        "train": {"epochs": 3, "batch_size": 8, "lr_decay_fractions": [0.5]},
    }
    read = Config.from_dict(older)
    assert read.spec == HeatmapSpec("cofw29", 64, 16, True)
    assert read.data.sigma == 2.0 and read.data.crop_margin == 0.0
    assert read.train.lr_decay_fractions == (0.5,) and read.train.epochs == 3
