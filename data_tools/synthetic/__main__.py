"""Writes synthetic faces (see :mod:`data_tools.synthetic`) to TFRecord shards.

Procedural face-like images whose landmarks are exact by construction: analytic feature
curves, each landmark one point on one drawn curve; random pose, expression, background,
lighting and occluders (covered points and points outside the image get ``visible = 0``).
Schemes: ``300w68``, ``wflw98``, ``cofw29``.

    python -m data_tools.synthetic --num=1000 --scheme=300w68 --output=/tmp/synth \
        --image_size=256 --seed=0 [--num_shards=4] [--split=train=0.9,val=0.1] \
        [--max_pitch_degrees=25]

``--max_pitch_degrees`` adds a pitch uniform within that many degrees (positive = face
turned up); the default 0 draws none and gives the same faces for a seed as without the flag.
"""

from __future__ import annotations

import os

import cv2
from absl import app, flags, logging

from data_tools.synthetic.generate import contact_sheet, write_synthetic
from data_tools.synthetic.templates import SUPPORTED_SCHEMES


def define_flags() -> None:
    """The command-line flags. Called when run as a program only (not on import)."""
    flags.DEFINE_string("output", None, "Output prefix of the TFRecord shards.", required=True)
    flags.DEFINE_integer("num", 1000, "Number of faces.", lower_bound=0)
    flags.DEFINE_enum("scheme", "300w68", list(SUPPORTED_SCHEMES), "Landmark scheme.")
    flags.DEFINE_integer("image_size", 256, "Square image side in pixels.", lower_bound=32)
    flags.DEFINE_integer("num_shards", 1, "Number of shards per split.", lower_bound=1)
    flags.DEFINE_integer("seed", 0, "Random seed (the output is deterministic given it).")
    flags.DEFINE_string("split", None, "Optional split fractions, e.g. 'train=0.9,val=0.1'.")
    flags.DEFINE_string("sheet", None, "Also write a contact sheet PNG of 16 faces here.")
    flags.DEFINE_float("max_pitch_degrees", 0.0,
                       "Random pitch (up/down head turn) uniform within this many degrees; "
                       "0 = no pitch.", lower_bound=0.0, upper_bound=89.0)


def main(argv: list[str]) -> None:
    """Writes the contact sheet (with ``--sheet``), then the records."""
    del argv
    f = flags.FLAGS
    if f.sheet:
        os.makedirs(os.path.dirname(os.path.abspath(f.sheet)), exist_ok=True)
        sheet = contact_sheet(16, f.scheme, f.image_size, f.seed,
                              max_pitch_degrees=f.max_pitch_degrees)
        if not cv2.imwrite(f.sheet, sheet):
            raise app.UsageError(f"--sheet {f.sheet!r}: could not write the PNG there")
        logging.info("contact sheet written to %s", f.sheet)
    write_synthetic(f.output, f.num, f.scheme, f.image_size, f.num_shards, f.seed, f.split,
                    f.max_pitch_degrees)


if __name__ == "__main__":
    define_flags()
    app.run(main)
