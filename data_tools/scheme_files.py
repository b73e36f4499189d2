"""User landmark schemes from JSON files, and the built-in scheme of a point count.

A scheme file is a JSON object with ``name``, ``num_points``, ``flip_permutation``,
``boundary_curves`` (optional), ``normalizers`` ``{name: [[idx, ...], [idx, ...]]}`` and
``default_normalizer`` (optional: the first normalizer); it is registered through
``awing_tf.schemes.register_scheme``.
"""

from __future__ import annotations

import json
import os
import pathlib

from absl import logging

from awing_tf.schemes import SCHEMES, LandmarkScheme, register_scheme

# keys as files written before the spelling was unified name them
_OLDER_KEYS = {"normalisers": "normalizers", "default_normaliser": "default_normalizer"}


def load_scheme_file(path: str | os.PathLike) -> LandmarkScheme:
    """Reads a user scheme JSON file and registers it; returns the scheme."""
    spec = json.loads(pathlib.Path(path).read_text())
    if not isinstance(spec, dict):
        raise TypeError(f"{path}: a scheme file holds a JSON object, got {type(spec).__name__}")
    spec = {_OLDER_KEYS.get(k, k): v for k, v in spec.items()}
    missing = {"name", "num_points", "flip_permutation", "normalizers"} - set(spec)
    if missing:
        raise ValueError(f"{path}: scheme file lacks {sorted(missing)}")
    normalizers = {
        str(k): (tuple(int(i) for i in v[0]), tuple(int(i) for i in v[1]))
        for k, v in spec["normalizers"].items()
    }
    scheme = LandmarkScheme(
        name=str(spec["name"]),
        num_points=int(spec["num_points"]),
        flip_permutation=tuple(int(i) for i in spec["flip_permutation"]),
        boundary_curves=tuple(tuple(int(i) for i in c) for c in spec.get("boundary_curves", [])),
        normalizers=normalizers,
        default_normalizer=str(spec.get("default_normalizer", next(iter(normalizers)))),
    )
    return register_scheme(scheme)


def infer_scheme(num_points: int) -> str:
    """The built-in scheme with ``num_points`` points (ValueError when none or ambiguous)."""
    names = [s.name for s in SCHEMES.values() if s.num_points == num_points]
    if len(names) != 1:
        raise ValueError(f"cannot infer a scheme for {num_points} points (candidates {names}); "
                         "pass --scheme or --scheme_file")
    logging.info("scheme inferred from %d points: %s", num_points, names[0])
    return names[0]
