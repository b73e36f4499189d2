r"""Faces in video: tracking and One Euro smoothing, measured.

    python -m data_tools.synthetic --output=data/synth --num=3000 --max_pitch_degrees=25 \
        --split=train=0.9,val=0.1 --num_shards=2
    awing-train --config=compact --train_records='data/synth_train-*' \
        --val_records='data/synth_val-*' --model_dir=runs/video_synth --batch_size=16 \
        --learning_rate=1e-3 --override=data.crop_margin=0.25 --time_budget_minutes=11
    python -m bench.video --synthetic_model=runs/video_synth --out=bench/results/video.json

1. **Synthetic ground truth** (``bench/video_synthetic.py``): a clip of one synthetic face at
   30 fps, 2 s at rest, 4 s of smooth motion (40 px translation, 15 % scale, 25 degrees
   yaw, 12 degrees roll), 2 s at rest, each frame with fresh sensor noise and a JPEG
   re-encoding; ``--synthetic_model`` is a model trained on synthetic faces (above: the
   pretrained models' crop margin, 0.25). Variants:
   ``raw`` (the detector on every frame, no smoothing), ``tracking`` (the detector on the
   first frame and every ``--detect_every``, otherwise the box of the previous landmarks)
   and ``tracking_one_euro`` (the same with the One Euro filter, whose landmarks also give
   the next frame's box, as ``predict_video`` runs). Per
   variant: NME overall and in motion, jitter at rest and lag in motion. A sweep of the
   filter's ``min_cutoff`` and ``beta`` on the tracked landmarks shows the trade-off behind
   the defaults. Goal: One Euro removes >= 60 % of the raw jitter with lag <= 1 frame and
   NME in motion <= 5 % (relative) above raw.
2. **Real footage** (``--clip``, default ``$AWING_DATA/video/short_hamilton_clip.mp4``):
   each run in a process of its own (thread pools are fixed at start-up), end to end
   through ``predict_video`` (decode, detect or track, align, draw, write): frames per
   second, detector calls per frame, and a jitter proxy (mean frame-to-frame displacement
   of each tracked face's landmarks over its inter-ocular distance) raw against smoothed,
   for ``300w68_compact`` (Keras) with and without tracking and ``300w68_mobile`` int8
   (TFLite runner), at 1 and 2 threads. Nothing else may run meanwhile.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np
from absl import app, flags

from bench.harness.child_process import print_result, run_for_result
from bench.harness.machine import machine_info
from bench.harness.results import load_json, write_json

FLAGS = flags.FLAGS
flags.DEFINE_string("synthetic_model", None, "A model trained on synthetic faces.")
flags.DEFINE_string("clip", os.path.join(os.environ.get("AWING_DATA", "../shared/data"),
                                         "video", "short_hamilton_clip.mp4"), "Real footage.")
flags.DEFINE_string("out", "bench/results/video.json", "Result JSON.")
flags.DEFINE_list("parts", ["synthetic", "real"], "What to measure.")
flags.DEFINE_integer("detect_every", 10, "Frames between detector runs when tracking.")
flags.DEFINE_float("min_cutoff", 1.0, "One Euro min_cutoff of the tracking_one_euro row.")
flags.DEFINE_float("beta", 5.0, "One Euro beta of the tracking_one_euro row.")
flags.DEFINE_string("child", None, "Internal: one real-footage run, as JSON settings.")


def _track(frames, fps: float, align, detect, detect_every: int,
           smoothing=None) -> tuple[np.ndarray, int]:
    """Landmarks ``(T, K, 2)`` of the first tracked face (NaN where none; smoothed when
    ``smoothing`` is given, the filter inside the loop as in ``predict_video``) and the
    detector calls."""
    from awing_tf.inference.tracking import FaceTracker

    tracker = FaceTracker(align, detect, detect_every=detect_every, smoothing=smoothing)
    out = []
    for i, frame in enumerate(frames):
        faces = tracker.update(frame, i / fps)
        out.append(faces[0].landmarks if faces else np.full((68, 2), np.nan))
    return np.stack(out).astype(np.float64), tracker.detector_calls


def _metrics(pred: np.ndarray, truth: np.ndarray, moving: np.ndarray) -> dict:
    from bench.video_synthetic import jitter, lag_frames, nme

    errors = nme(pred, truth)
    return {"nme": round(float(np.nanmean(errors)), 3),
            "nme_motion": round(float(np.nanmean(errors[moving])), 3),
            "jitter_pct_iod": round(jitter(pred, truth, ~moving), 4),
            "lag_frames": round(lag_frames(pred, truth, moving), 2)}


def synthetic() -> dict:
    from awing_tf.inference.tracking import SmoothingOptions, keras_aligner, mapped_detector
    from awing_tf.models.loading import load_model
    from bench.video_synthetic import ClipSpec, render_clip

    spec = ClipSpec()
    frames, truth, moving = render_clip(spec)
    model = load_model(FLAGS.synthetic_model)
    align, detect = keras_aligner(model), mapped_detector("blazeface")
    raw, raw_calls = _track(frames, spec.fps, align, detect, detect_every=1)
    tracked, calls = _track(frames, spec.fps, align, detect, FLAGS.detect_every)

    def smoothed(min_cutoff: float, beta: float) -> tuple[np.ndarray, int]:
        return _track(frames, spec.fps, align, detect, FLAGS.detect_every,
                      SmoothingOptions(min_cutoff, beta))

    one_euro, one_euro_calls = smoothed(FLAGS.min_cutoff, FLAGS.beta)
    rows = {
        "raw": {**_metrics(raw, truth, moving), "detector_calls": raw_calls},
        "tracking": {**_metrics(tracked, truth, moving), "detector_calls": calls},
        "tracking_one_euro": {**_metrics(one_euro, truth, moving),
                              "detector_calls": one_euro_calls,
                              "min_cutoff": FLAGS.min_cutoff, "beta": FLAGS.beta},
    }
    base = rows["raw"]
    smooth = rows["tracking_one_euro"]
    goals = {
        "jitter_removed_pct": round(100 * (1 - smooth["jitter_pct_iod"]
                                           / base["jitter_pct_iod"]), 1),
        "lag_frames": smooth["lag_frames"],
        "nme_motion_relative_pct": round(100 * (smooth["nme_motion"] / base["nme_motion"]
                                                - 1), 2),
    }
    goals["met"] = bool(goals["jitter_removed_pct"] >= 60 and goals["lag_frames"] <= 1
                        and goals["nme_motion_relative_pct"] <= 5)
    sweep = [{"min_cutoff": mc, "beta": b, **_metrics(smoothed(mc, b)[0], truth, moving)}
             for mc in (0.5, 1.0, 2.0) for b in (0.0, 2.0, 5.0, 10.0)]
    return {"clip": {"fps": spec.fps, "frames": len(frames), "still_s": spec.still,
                     "motion_s": spec.motion, "image_size": spec.image_size,
                     "noise_sigma": spec.noise_sigma, "jpeg_quality": spec.jpeg_quality,
                     "motion": "40 px translation, 15 % scale, 25 deg yaw, 12 deg roll"},
            "model": FLAGS.synthetic_model, "rows": rows, "goals": goals, "sweep": sweep}


def _jitter_proxy(jsonl: str) -> dict:
    """Mean frame-to-frame landmark displacement of each track over its inter-ocular
    distance (percent), smoothed and raw, over consecutive frames of the same track."""
    last: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}
    smooth, raw = [], []
    for line in open(jsonl):
        rec = json.loads(line)
        for face in rec["faces"]:
            lm, r = np.array(face["landmarks"]), np.array(face["raw_landmarks"])
            prev = last.get(face["id"])
            if prev is not None and prev[0] == rec["frame"] - 1:
                iod = np.linalg.norm(r[36] - r[45])
                smooth.append(np.linalg.norm(lm - prev[1], axis=-1).mean() / iod * 100)
                raw.append(np.linalg.norm(r - prev[2], axis=-1).mean() / iod * 100)
            last[face["id"]] = (rec["frame"], lm, r)
    return {"pairs": len(raw), "raw_pct_iod": round(float(np.mean(raw)), 4),
            "smoothed_pct_iod": round(float(np.mean(smooth)), 4)}


def child(settings: dict) -> None:
    """One real-footage run (its own process): ``settings``: runtime keras|tflite,
    threads, detect_every."""
    threads = settings["threads"]
    from awing_tf.inference.tracking import SmoothingOptions, mapped_detector
    from awing_tf.inference.video import VideoOptions, predict_video

    if settings["runtime"] == "keras":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        from awing_tf.inference.tracking import keras_aligner
        from awing_tf.models.loading import load_model

        align = keras_aligner(load_model("300w68_compact"))
    else:
        from awing_tf import pretrained
        from export.runner import TFLiteLandmarker, resolve_tflite, video_aligner

        path, margin = resolve_tflite(pretrained.DEFAULT_TFLITE, None)
        align = video_aligner(TFLiteLandmarker(path, threads, margin))
    detect = mapped_detector("blazeface", num_threads=threads)
    options = VideoOptions(detect_every=settings["detect_every"],
                           smoothing=SmoothingOptions(settings["min_cutoff"], settings["beta"]),
                           raw_landmarks=True)
    with tempfile.TemporaryDirectory() as tmp:
        summary = predict_video(FLAGS.clip, align, detect, tmp, options, progress=False)
        jitter = _jitter_proxy(summary["jsonl"])
    print_result({"frames": summary["frames"], "faces": summary["faces"],
                  "frames_per_second": summary["frames_per_second"],
                  "detector_calls_per_frame": round(summary["detector_calls"]
                                                    / summary["frames"], 3),
                  "faces_per_frame": round(summary["faces"] / summary["frames"], 2),
                  "jitter_proxy": jitter})


def real() -> dict:
    runs = {}
    for runtime, name in (("keras", "300w68_compact"), ("tflite", "300w68_mobile_int8")):
        for threads in (1, 2):
            for detect_every in ((FLAGS.detect_every, 1) if runtime == "keras" and threads == 2
                                 else (FLAGS.detect_every,)):
                settings = {"runtime": runtime, "threads": threads,
                            "detect_every": detect_every, "min_cutoff": FLAGS.min_cutoff,
                            "beta": FLAGS.beta}
                key = f"{name}_{threads}thr_" + ("tracking" if detect_every > 1
                                                  else "detect_every_frame")
                runs[key] = {**settings, **run_for_result(
                    [sys.executable, "-m", "bench.video", f"--clip={FLAGS.clip}",
                     f"--child={json.dumps(settings)}"])}
                print(key, runs[key], flush=True)
    return {"clip": FLAGS.clip, "runs": runs}


def main(argv: list[str]) -> None:
    del argv
    if FLAGS.child:
        child(json.loads(FLAGS.child))
        return
    result = load_json(FLAGS.out)
    result["machine_at_start"] = machine_info()
    if "synthetic" in FLAGS.parts:
        result["synthetic"] = synthetic()
        print(json.dumps(result["synthetic"]["rows"], indent=1), result["synthetic"]["goals"])
        write_json(FLAGS.out, result)
    if "real" in FLAGS.parts:
        result["real"] = real()
        write_json(FLAGS.out, result)
    print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
    sys.exit(app.run(main))
