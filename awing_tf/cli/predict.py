"""Predict landmarks on photos: ``awing-predict`` (also ``python -m awing_tf.predict``).

For each image: face boxes from ``--bbox``, ``--boxes_file`` or the face detector
(``--detector``: BlazeFace by default, mapped to the box the model was trained with), the
same square crop as training, the model (by default the pretrained ``300w68_compact``), and
per face the landmarks in the image's pixels, a confidence per landmark and the head pose.
Writes per image an annotated PNG (landmarks coloured by confidence, pose axes) and a JSON,
and the index ``landmarks.json``.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

from awing_tf.choices import DECODE_METHODS, FACE_DETECTORS, SMOOTHING
from awing_tf.cli import run_app

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A .keras file, a training model_dir or a pretrained "
                    "model's name (default: the pretrained 300w68_compact).")
flags.DEFINE_string("input", None, "An image file, a folder of images, a video file "
                    "(anything OpenCV's VideoCapture reads), a camera index (0) or, with "
                    "--frames, a folder of video frames.")
flags.DEFINE_string("output_dir", None, "Where the annotated images or video and the JSON "
                    "(lines) go.")
flags.DEFINE_list("bbox", None, "Face box x1,y1,x2,y2 in image pixels (default: detect).")
flags.DEFINE_string("boxes_file", None,
                    "Face boxes, 'NAME x1 y1 x2 y2' per face (300W's bbox.txt format; a NAME "
                    "may repeat), NAME the image path relative to --input or its file name.")
flags.DEFINE_bool("flip_test", False, "Average each face's heatmaps with its mirror image's.")
flags.DEFINE_enum("decode", "quarter_offset", list(DECODE_METHODS), "Decoding.")
flags.DEFINE_float("crop_margin", None, "Override the crop margin (default from the run).")
flags.DEFINE_enum("detector", "blazeface", list(FACE_DETECTORS),
                  "Face detector when no box is given: blazeface (short range, then full "
                  "range for small faces), blazeface_full or haar (OpenCV).")
flags.DEFINE_float("min_face_score", 0.5, "Lowest detector score kept.", lower_bound=0.0,
                   upper_bound=1.0)
flags.DEFINE_integer("batch_size", 16, "Images read, and faces run through the model, per "
                     "batch.", lower_bound=1)
flags.DEFINE_bool("frames", False, "--input is a folder of video frames in name order (not "
                  "a folder of photos).")
flags.DEFINE_integer("max_frames", None, "Video: stop after this many frames.", lower_bound=1)
flags.DEFINE_bool("tracking", True, "Video: track faces from their previous landmarks and "
                  "run the detector only every --detect_every frames or when a face is lost.")
flags.DEFINE_integer("detect_every", 10, "Video: frames between detector runs.", lower_bound=1)
flags.DEFINE_float("min_track_confidence", 0.5, "Video: a tracked face whose mean landmark "
                   "confidence falls below this is detected again.", lower_bound=0.0,
                   upper_bound=1.0)
flags.DEFINE_enum("smoothing", "one_euro", list(SMOOTHING), "Video: landmark smoothing.")
flags.DEFINE_float("min_cutoff", 1.0, "One Euro cut-off at rest, Hz (lower: smoother, "
                   "more lag).", lower_bound=1e-3)
flags.DEFINE_float("beta", 5.0, "One Euro cut-off increase per face size per second of "
                   "speed (higher: less lag in motion).", lower_bound=0.0)
flags.mark_flags_as_required(["input", "output_dir"])


def _is_video(spec: str) -> bool:
    from awing_tf.files import is_video_file

    return FLAGS.frames or spec.isdigit() or is_video_file(spec)


def predict_video_from_flags() -> dict:
    """``awing-predict`` on a video: the model, the detector and the tracker's options from
    the flags."""
    from awing_tf.inference.tracking import SmoothingOptions, keras_aligner, mapped_detector
    from awing_tf.inference.video import VideoOptions, predict_video
    from awing_tf.models.loading import load_model
    from awing_tf.pretrained import DEFAULT_MODEL

    model = load_model(FLAGS.model or DEFAULT_MODEL)
    smoothing = (SmoothingOptions(FLAGS.min_cutoff, FLAGS.beta)
                 if FLAGS.smoothing == "one_euro" else None)
    options = VideoOptions(detect_every=FLAGS.detect_every if FLAGS.tracking else 1,
                           min_track_confidence=FLAGS.min_track_confidence,
                           smoothing=smoothing, max_frames=FLAGS.max_frames,
                           frames_folder=FLAGS.frames)
    return predict_video(FLAGS.input, keras_aligner(model, FLAGS.crop_margin, FLAGS.decode,
                                                    FLAGS.batch_size),
                         mapped_detector(FLAGS.detector, FLAGS.min_face_score),
                         FLAGS.output_dir, options)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.bbox and FLAGS.boxes_file:
        raise app.UsageError("give --bbox or --boxes_file, not both")
    if _is_video(FLAGS.input):
        if FLAGS.bbox or FLAGS.boxes_file:
            raise app.UsageError("a video's faces are detected and tracked: --bbox and "
                                 "--boxes_file are for photos")
        try:
            summary = predict_video_from_flags()
        except (FileNotFoundError, KeyError, ValueError) as err:
            logging.error("%s", err)
            sys.exit(2)
        skipped = summary["skipped_frames"]
        print(f"{summary['input']}: {summary['frames']} frames, {summary['faces']} faces, "
              f"{summary['detector_calls']} detector calls, "
              f"{summary['frames_per_second']:.1f} frames/s"
              + (f", {len(skipped)} frames skipped (first: frame {skipped[0]['frame']}: "
                 f"{skipped[0]['reason']})" if skipped else ""))
        print(f"wrote {summary['video']} and {summary['jsonl']}")
        return
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
                                flip_test=FLAGS.flip_test, detector=FLAGS.detector,
                                min_face_score=FLAGS.min_face_score,
                                batch_size=FLAGS.batch_size, progress=True)
    except (PredictError, FileNotFoundError, KeyError, ValueError, TypeError) as err:
        logging.error("%s", err)
        sys.exit(2)
    for path, res in results["images"].items():
        print(f"{path}: {res['faces']} face(s) -> {res['annotated']}, {res['json']}")
    for path, problem in results["problems"].items():
        print(f"{path}: skipped: {problem}")
    print(f"wrote {os.path.join(FLAGS.output_dir, 'landmarks.json')}")
    if not results["images"]:
        sys.exit(1)


def run() -> None:
    run_app(main, __name__)


if __name__ == "__main__":
    run()
