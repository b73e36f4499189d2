"""The ``Config`` of one benchmark run: a preset with a loss, its modules on or off, the
epochs and the learning rate (the same overrides as ``awing_tf.train``'s flags)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from awing_tf.config import Config


class Variant(NamedTuple):
    """What a row of a benchmark changes: the loss and the three optional modules."""

    loss: str
    use_boundary: bool
    use_coordconv: bool
    use_boundary_coords: bool


def run_config(preset: str, scheme: str, variant: Variant, epochs: int,
               learning_rate: float, seed: int, batch_size: int, precision: str,
               decay_fractions: tuple[float, ...], decay_factor: float,
               overrides: Iterable[str] = ()) -> Config:
    """The Config of one run, named ``<preset>-<loss>``; ``overrides`` are applied last."""
    from awing_tf import config as config_lib

    loss, boundary, coordconv, boundary_coords = variant
    cfg = config_lib.preset(preset, scheme=scheme)
    items = [
        f"spec.use_boundary={boundary}", f"model.use_coordconv={coordconv}",
        f"model.use_boundary_coords={boundary_coords}", f"train.loss={loss}",
        f"train.precision={precision}", f"train.seed={seed}", f"data.seed={seed}",
        f"train.epochs={epochs}", f"train.batch_size={batch_size}",
        f"train.learning_rate={learning_rate}",
        "train.lr_decay_fractions=" + ",".join(str(f) for f in decay_fractions),
        f"train.lr_decay_factor={decay_factor}",
    ]
    cfg = config_lib.apply_overrides(cfg, items + list(overrides))
    return dataclasses.replace(cfg, name=f"{preset}-{loss}")


def with_batch_size(config: Config, batch_size: int) -> Config:
    """``config`` reading its records ``batch_size`` at a time (evaluation batches)."""
    return dataclasses.replace(config, train=dataclasses.replace(config.train,
                                                                 batch_size=batch_size))
