r"""Export a saved FaceAligner as a SavedModel, crop and decode inside the graph.

    python -m export.saved_model --model=compact.keras --output=/tmp/compact_savedmodel \
        [--decode=quarter_offset] [--margin=0]

Two signatures, both needing only TensorFlow to run (no Keras, no project code):

* ``serving_default``: ``images`` ``(B, S, S, 3)`` uint8 face crops ->
  ``landmarks`` ``(B, K, 2)`` float32 in crop pixels and ``scores`` ``(B, K)``;
* ``align_image``: ``image`` ``(H, W, 3)`` uint8 and ``box`` ``(4,)`` float32
  ``x1, y1, x2, y2`` -> ``landmarks`` ``(K, 2)`` float32 in the image's pixels and ``scores``
  ``(K,)`` (``export.saved_model.serving``).
"""

from __future__ import annotations

import os

from absl import app, flags, logging

from awing_tf.choices import DECODE_METHODS
from export.command_line import run_export_app

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A saved FaceAligner (.keras).")
flags.DEFINE_string("output", None, "The SavedModel folder to write.")
flags.DEFINE_enum("decode", "quarter_offset", list(DECODE_METHODS), "Decode method.")
flags.DEFINE_float("margin", 0.0, "align_image crop enlargement fraction.")
flags.mark_flags_as_required(["model", "output"])


def main(argv: list[str]) -> None:
    del argv
    f = FLAGS
    if not os.path.isfile(f.model):
        raise app.UsageError(f"--model not found: {f.model}")
    from awing_tf.models.face_aligner import load_aligner
    from export.saved_model.serving import export_saved_model

    export_saved_model(load_aligner(f.model), f.output, f.decode, f.margin)
    logging.info("wrote SavedModel %s (signatures serving_default, align_image)", f.output)


def run() -> None:
    run_export_app(main, __name__)


if __name__ == "__main__":
    run()
