"""Predict landmarks on photos: ``awing-predict`` (also ``python -m awing_tf.predict``).

For each image: face boxes from ``--bbox``, ``--boxes_file`` or OpenCV's bundled Haar
cascade, the same square crop as training, the model (by default the pretrained
``300w68_compact``), and the landmarks mapped back to the image's pixels. Writes an annotated
PNG per image and ``landmarks.json``.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from awing_tf.choices import DECODE_METHODS
from awing_tf.cli import run_app

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A .keras file, a training model_dir or a pretrained "
                    "model's name (default: the pretrained 300w68_compact).")
flags.DEFINE_string("input", None, "An image file or a folder of images.")
flags.DEFINE_string("output_dir", None, "Where annotated PNGs and landmarks.json go.")
flags.DEFINE_list("bbox", None, "Face box x1,y1,x2,y2 in image pixels (default: detect).")
flags.DEFINE_string("boxes_file", None,
                    "Face boxes, 'NAME x1 y1 x2 y2' per face (300W's bbox.txt format; a NAME "
                    "may repeat), NAME the image path relative to --input or its file name.")
flags.DEFINE_bool("flip_test", False, "Average each face's heatmaps with its mirror image's.")
flags.DEFINE_enum("decode", "quarter_offset", list(DECODE_METHODS), "Decoding.")
flags.DEFINE_float("crop_margin", None, "Override the crop margin (default from the run).")
flags.mark_flags_as_required(["input", "output_dir"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.bbox and FLAGS.boxes_file:
        raise app.UsageError("give --bbox or --boxes_file, not both")
    from awing_tf.box_files import read_box_file
    from awing_tf.inference.photos import PredictError, list_inputs, parse_bbox, predict_paths
    from awing_tf.pretrained import DEFAULT_MODEL

    try:
        inputs = list_inputs(FLAGS.input)
        box = parse_bbox(FLAGS.bbox)
        boxes = read_box_file(FLAGS.boxes_file) if FLAGS.boxes_file else None
        root = FLAGS.input if os.path.isdir(FLAGS.input) else None
        results = predict_paths(FLAGS.model or DEFAULT_MODEL, inputs, FLAGS.output_dir, box,
                                FLAGS.decode, FLAGS.crop_margin, boxes=boxes, input_root=root,
                                flip_test=FLAGS.flip_test)
    except (PredictError, FileNotFoundError, KeyError, ValueError, TypeError) as err:
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
