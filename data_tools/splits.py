"""Splitting the written faces into named parts (e.g. train / val), deterministically per image.

A split is given as fractions (``"train=0.9,val=0.1"``); each image goes to the split chosen
by a hash of the seed and its id, so all faces of one image land in one split and the choice
does not depend on the order of the input.
"""

from __future__ import annotations

import hashlib


def parse_split(spec: str | dict[str, float] | None) -> dict[str, float] | None:
    """``"train=0.9,val=0.1"`` -> ``{"train": 0.9, "val": 0.1}``; fractions must sum to 1."""
    if spec is None or spec == "":
        return None
    if isinstance(spec, dict):
        fractions = {str(k): float(v) for k, v in spec.items()}
    elif isinstance(spec, str):
        fractions = {}
        for part in spec.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"split must look like 'train=0.9,val=0.1', got {spec!r}")
            try:
                fractions[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"split {name!r}: fraction {value!r} is not a number") from None
    else:
        raise TypeError(f"split must be a str or dict, got {type(spec).__name__}")
    if any(not (0.0 <= f <= 1.0) for f in fractions.values()):
        raise ValueError(f"split fractions must be in [0, 1], got {fractions}")
    if abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got {fractions}")
    return fractions


def split_of(group: str, fractions: dict[str, float], seed: int) -> str:
    """Deterministic split of a group id (an image path: all its faces go to one split)."""
    digest = hashlib.sha1(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    acc = 0.0
    names = list(fractions)
    for name in names:
        acc += fractions[name]
        if u < acc:
            return name
    return names[-1]


def group_of(source_id: str) -> str:
    """The image part of a source id (``path#n`` -> ``path``)."""
    return source_id.split("#", 1)[0]


def split_prefix(output_prefix: str, split_name: str | None) -> str:
    """``PREFIX`` without splits, ``PREFIX_<split>`` with them."""
    return output_prefix if split_name is None else f"{output_prefix}_{split_name}"
