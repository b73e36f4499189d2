"""The command lines of the converters: the flags they share and the way they run.

A converter module defines its flags with :func:`define_converter_flags` (plus
:func:`define_scheme_flag` when its format can hold several schemes, plus its own), adopts
this module's key flags so ``--help`` lists them, and runs with :func:`run_converter`::

    if __name__ == "__main__":
        define_flags()
        cli.run_converter(convert_from_flags)

where ``convert_from_flags(FLAGS, output)`` converts ``FLAGS.input`` to the
:class:`~data_tools.writing.OutputSpec` built from ``--output``, ``--num_shards``,
``--split`` and ``--seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from absl import app, flags

from data_tools.writing import OutputSpec


def define_converter_flags(input_help: str) -> None:
    """Defines the flags every converter shares. Call from ``__main__`` only (not on import)."""
    flags.DEFINE_string("input", None, input_help, required=True)
    flags.DEFINE_string(
        "output", None,
        "Output prefix; shards are PREFIX-00000-of-0000N.tfrecord (PREFIX_<split>-... with "
        "--split).", required=True)
    flags.DEFINE_integer("num_shards", 1, "Number of TFRecord shards per split.", lower_bound=1)
    flags.DEFINE_string(
        "split", None,
        "Optional split fractions, e.g. 'train=0.9,val=0.1' (must sum to 1); each split is "
        "written to PREFIX_<split>-.... All faces of one image go to the same split.")
    flags.DEFINE_integer("seed", 0, "Seed of the split assignment (deterministic).")
    flags.DEFINE_integer("limit", 0, "Convert only the first N source items (0 = all).",
                         lower_bound=0)
    flags.DEFINE_bool(
        "one_based", False,
        "Subtract 1 from every source coordinate: for annotations in 1-based MATLAB pixel "
        "coordinates. The project convention is 0-based pixel centres at integer coordinates.")


def define_scheme_flag(default: str | None) -> None:
    """``--scheme``, for the formats that can hold more than one landmark scheme."""
    flags.DEFINE_string(
        "scheme", default,
        "Landmark scheme name (300w68, wflw98, cofw29, lsp14, or a registered user scheme).")


def output_spec(values: flags.FlagValues) -> OutputSpec:
    """The :class:`OutputSpec` of ``--output``, ``--num_shards``, ``--split`` and ``--seed``."""
    return OutputSpec(values.output, values.num_shards, values.split, values.seed)


def run_converter(convert: Callable[[flags.FlagValues, OutputSpec], Any]) -> None:
    """Runs ``convert(FLAGS, output_spec(FLAGS))`` as an absl app.

    A missing or unreadable input (``OSError``) or an invalid one (``ValueError``) is
    reported as a one-line usage error that names it, not a traceback. Per-record problems
    never get here: they are skipped and counted by :func:`~data_tools.writing.write_items`.
    """
    def main(argv: list[str]) -> None:
        del argv
        try:
            convert(flags.FLAGS, output_spec(flags.FLAGS))
        except (OSError, ValueError) as err:
            raise app.UsageError(str(err)) from err

    app.run(main)
