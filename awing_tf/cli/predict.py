"""Predict landmarks on photos: ``awing-predict`` (also ``python -m awing_tf.predict``).

For each image: a face box from ``--bbox`` or OpenCV's bundled Haar cascade, the same square
crop as training, the model, and the landmarks mapped back to the image's pixels. Writes an
annotated PNG per image and ``landmarks.json``.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from awing_tf.choices import DECODE_METHODS
from awing_tf.cli import run_app

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A .keras file or a training model_dir.")
flags.DEFINE_string("input", None, "An image file or a folder of images.")
flags.DEFINE_string("output_dir", None, "Where annotated PNGs and landmarks.json go.")
flags.DEFINE_list("bbox", None, "Face box x1,y1,x2,y2 in image pixels (default: detect).")
flags.DEFINE_enum("decode", "quarter_offset", list(DECODE_METHODS), "Decoding.")
flags.DEFINE_float("crop_margin", None, "Override the crop margin (default from the run).")
flags.mark_flags_as_required(["model", "input", "output_dir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from awing_tf.inference.photos import PredictError, list_inputs, parse_bbox, predict_paths

    try:
        inputs = list_inputs(FLAGS.input)
        box = parse_bbox(FLAGS.bbox)
        results = predict_paths(FLAGS.model, inputs, FLAGS.output_dir, box, FLAGS.decode,
                                FLAGS.crop_margin)
    except (PredictError, FileNotFoundError, TypeError) as err:
        logging.error("%s", err)
        sys.exit(2)
    for path, res in results["images"].items():
        print(f"{path}: {len(res['faces'])} face(s) -> {res['annotated']}")
    for path, problem in results["problems"].items():
        print(f"{path}: skipped: {problem}")
    print(f"wrote {os.path.join(FLAGS.output_dir, 'landmarks.json')}")
    if not results["images"]:
        sys.exit(1)


def run() -> None:
    run_app(main, __name__)


if __name__ == "__main__":
    run()
