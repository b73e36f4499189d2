"""Evaluate a trained model: ``awing-evaluate`` (also ``python -m awing_tf.evaluate``).

Writes ``report.json`` (NME, FR and AUC at 8 % and 10 %, per-image NMEs, WFLW attribute
subsets) and ``ced.png`` into ``--output_dir`` and prints a table like the paper's Table 1.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from awing_tf.choices import DECODE_METHODS, NORMALIZERS
from awing_tf.cli import run_app

FLAGS = flags.FLAGS
flags.DEFINE_string("records", None, "Glob of TFRecord shards to evaluate on.")
flags.DEFINE_string("model", None, "A .keras file or a training model_dir.")
flags.DEFINE_enum("normalizer", None, list(NORMALIZERS),
                  "NME normalizer (default: the scheme's: 300W/WFLW inter-ocular, COFW "
                  "inter-pupil, LSP torso).")
flags.DEFINE_enum("decode", "quarter_offset", list(DECODE_METHODS),
                  "Heatmap decoding: the paper's quarter-pixel shift or sub-pixel Taylor.")
flags.DEFINE_string("output_dir", None, "Where report.json and ced.png go.")
flags.DEFINE_float("crop_margin", None, "Override the crop margin (default from the run).")
flags.DEFINE_integer("batch_size", 16, "Evaluation batch size.")
flags.DEFINE_bool("flip_test", False,
                  "Test-time flip: average each face's heatmaps with those of its mirror image "
                  "(mirrored back, channels relabelled by the scheme's flip permutation).")
flags.mark_flags_as_required(["records", "model", "output_dir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from awing_tf.evaluation import evaluate, format_table

    try:
        report = evaluate(FLAGS.model, FLAGS.records, FLAGS.output_dir, FLAGS.normalizer,
                          FLAGS.decode, FLAGS.crop_margin, FLAGS.batch_size,
                          flip_test=FLAGS.flip_test)
    except (FileNotFoundError, ValueError) as err:
        logging.error("%s", err)
        sys.exit(2)
    print(f"{report['count']} faces, normalizer {report['normalizer']}, decode {FLAGS.decode}"
          + (", flip test" if FLAGS.flip_test else ""))
    print(format_table(report))
    print(f"wrote {os.path.join(FLAGS.output_dir, 'report.json')} and ced.png")


def run() -> None:
    run_app(main, __name__)


if __name__ == "__main__":
    run()
