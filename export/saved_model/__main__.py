r"""Export a saved FaceAligner as a SavedModel, crop and decode inside the graph.

    python -m export.saved_model --model=compact.keras --output=/tmp/compact_savedmodel \
        [--decode=quarter_offset] [--margin=0] [--flip_test]

Two signatures, both needing only TensorFlow to run (no Keras, no project code):

* ``serving_default``: ``images`` ``(B, S, S, 3)`` uint8 face crops ->
  ``landmarks`` ``(B, K, 2)`` float32 in crop pixels and ``scores`` ``(B, K)``;
* ``align_image``: ``image`` ``(H, W, 3)`` uint8 and ``box`` ``(4,)`` float32
  ``x1, y1, x2, y2`` -> ``landmarks`` ``(K, 2)`` float32 in the image's pixels and ``scores``
  ``(K,)`` (``export.saved_model.serving``).
"""

from __future__ import annotations

from absl import flags, logging

from awing_tf.choices import DECODE_METHODS
from export.command_line import model_path_flag, run_export_app

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A saved FaceAligner: .keras file, run folder or "
                    "pretrained model name (e.g. 300w68_compact).")
flags.DEFINE_string("output", None, "The SavedModel folder to write.")
flags.DEFINE_enum("decode", "quarter_offset", list(DECODE_METHODS), "Decode method.")
flags.DEFINE_float("margin", None, "align_image crop enlargement fraction (default: the "
                   "model's run's, or its scheme's).")
flags.DEFINE_bool("flip_test", False, "Average each crop's heatmaps with its mirror image's "
                  "inside both signatures.")
flags.mark_flags_as_required(["model", "output"])


def main(argv: list[str]) -> None:
    del argv
    f = FLAGS
    model_path = model_path_flag(f.model)
    from awing_tf.models.loading import load_model, run_data_config
    from export.saved_model.serving import export_saved_model

    model = load_model(model_path)
    margin = f.margin if f.margin is not None else \
        run_data_config(f.model).margin_for(model.spec.scheme)
    export_saved_model(model, f.output, f.decode, margin, flip_test=f.flip_test)
    logging.info("wrote SavedModel %s (signatures serving_default, align_image)", f.output)


def run() -> None:
    run_export_app(main, __name__)


if __name__ == "__main__":
    run()
