r"""Faces in real photos: detector recall and false positives, the detector-box mapping, the
NME price of detection, landmark confidence against error, and detector timings.

    nice -n 10 python -m bench.detect --model=runs/300w/model.keras \
        --out=bench/results/detect.json [--fit_mapping]

* **Recall / false positives** of each ``--detectors`` option on dlib's example photos
  (``smoke_real/dlib_faces``: 43 annotated faces, 37-53 px, on photos 360-500 px wide) and
  recall over the 1,207 ``300w_train`` crops (one annotated face each). A detection finds a
  face when its box and the face's tight landmark box overlap with IoU >= 0.3
  (``bench.detection_data.MATCH_IOU``); detections matching no annotated face are false
  positives (dlib's photos annotate every face, so these are real mistakes).
* **Box mapping**: for each detector model (BlazeFace short range, full range, Haar: each
  draws its box its own way), the per-axis scale and offset from its box to the tight
  landmark box, fitted (medians) on the matched ``300w_train`` faces. ``--fit_mapping``
  writes them to ``awing_tf/inference/box_mappings.json``, which prediction applies.
* **The price of detection**: inter-ocular NME on the 554 ``300w_common`` faces of
  ``--model`` (trained on ``300w_train`` only) with (a) landmark-derived boxes (the tight box
  of the annotation, what the crops were trained with), (b) each ``--nme_detectors``'s boxes
  through the mapping, and (c) its boxes as they are; (b) and (c) over the faces the
  detector found, (a) over the same faces and over all. Decoding and flip test as ``--decode`` and
  ``--flip_test`` (the 300W benchmark's: subpixel, flip).
* **Confidence**: on (a), the mean error of the 10 % least confident points against the
  rest, and the AUROC of (1 - confidence) for "point error above the median".
* **Timing**: median milliseconds per dlib photo of each detector option at 1 and 2
  interpreter threads (nothing else may run meanwhile).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from absl import app, flags

from bench.detection_data import dlib_photos, faces_300w, iou, match_faces, tight_boxes
from bench.harness.machine import machine_info
from bench.harness.results import load_json, write_json

FLAGS = flags.FLAGS
flags.DEFINE_string("data", os.environ.get("AWING_DATA", "../shared/data"), "Data root.")
flags.DEFINE_string("model", None, "The benchmark model (trained on 300w_train only).")
flags.DEFINE_string("out", "bench/results/detect.json", "Result JSON.")
flags.DEFINE_list("detectors", ["blazeface", "blazeface_full", "haar"], "Detector options.")
flags.DEFINE_float("min_face_score", 0.5, "Detector score threshold.")
flags.DEFINE_list("nme_detectors", ["blazeface", "haar"],
                  "Detectors whose boxes the 300w_common NME is measured with.")
flags.DEFINE_bool("fit_mapping", False, "Write the fitted box mappings into the package.")
flags.DEFINE_enum("decode", "subpixel", ["quarter_offset", "subpixel"], "Decoding.")
flags.DEFINE_bool("flip_test", True, "Flip test.")
flags.DEFINE_list("parts", ["recall", "nme", "timing"],
                  "What to measure: recall (and the box mappings), nme (needs --model), timing; "
                  "other parts already in --out are kept.")
flags.DEFINE_integer("timing_runs", 5, "Timed passes over the dlib photos.")


def _detect(path: str, detector: str, threads: int = 1):
    return _detect_by_model(path, detector, threads)[0]


def _detect_by_model(path: str, detector: str, threads: int = 1):
    from awing_tf.images import read_image
    from awing_tf.inference.face_detection import detect_faces_by_model

    return detect_faces_by_model(read_image(path), detector=detector,
                                 min_score=FLAGS.min_face_score, num_threads=threads)


def dlib_recall(detector: str) -> dict:
    """Recall and false positives on dlib's photos."""
    found = total = false_pos = detections = 0
    for path, faces in dlib_photos(os.path.join(FLAGS.data, "smoke_real", "dlib_faces")):
        boxes = _detect(path, detector).boxes
        pairs = match_faces(boxes, tight_boxes(faces))
        found += len(pairs)
        total += len(faces)
        detections += len(boxes)
        false_pos += len(boxes) - len(pairs)
    return {"faces": total, "found": found, "recall": round(found / total, 4),
            "detections": detections, "false_positives": false_pos}


def train_recall(detector: str, pairs: dict[str, list]) -> dict:
    """Recall over the 300w_train crops; each matched ``(detector box, landmark box)`` is
    added to ``pairs[model]`` for the mapping of the model that drew it."""
    found, extra = 0, 0
    faces = faces_300w(os.path.join(FLAGS.data, "300w_train"))
    for path, pts in faces:
        det, model = _detect_by_model(path, detector)
        gt = tight_boxes(pts[None])
        matched = match_faces(det.boxes, gt)
        extra += len(det.boxes) - len(matched)
        if matched:
            found += 1
            pairs.setdefault(model, []).append((det.boxes[matched[0][0]], gt[0]))
    return {"faces": len(faces), "found": found, "recall": round(found / len(faces), 4),
            "other_detections": extra}


def fit_mapping(pairs: list) -> dict:
    """The box mapping of one detector model from its ``(detector box, landmark box)``
    pairs, with the median IoU of the pairs before and after."""
    from awing_tf.inference.box_mapping import BoxMapping

    det = np.stack([p[0] for p in pairs])
    gt = np.stack([p[1] for p in pairs])
    mapping = BoxMapping.fit(det, gt)
    return {**mapping.to_dict(), "fitted_on": len(pairs),
            "median_iou_raw": round(float(np.median(np.diag(iou(det, gt)))), 4),
            "median_iou_mapped": round(float(np.median(np.diag(iou(mapping.apply(det),
                                                                    gt)))), 4)}


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the boolean labels ``positive`` (the
    Mann-Whitney statistic, ties counted half)."""
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    n1, n0 = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def common_nme(detectors: list[str]) -> dict:
    """NME on 300w_common with landmark boxes, and per detector with its boxes mapped and
    raw, and the confidence figures (on the landmark-box predictions)."""
    from awing_tf.images import read_image
    from awing_tf.inference.alignment import align_images
    from awing_tf.inference.box_mapping import mapping_for
    from awing_tf.metrics import nme, normalizer_distance
    from awing_tf.models.loading import load_model

    model = load_model(FLAGS.model)
    faces = faces_300w(os.path.join(FLAGS.data, "300w_common"))
    images = [read_image(p) for p, _ in faces]
    gt = np.stack([pts for _, pts in faces])
    norm = normalizer_distance(gt, "300w68")

    def run(idx, boxes) -> tuple[np.ndarray, np.ndarray]:
        out = align_images(model, [images[i] for i in idx], [b[None] for b in boxes],
                           margin=model.margin, method=FLAGS.decode,
                           flip_test=FLAGS.flip_test, with_pose=False)
        lm = np.stack([f[0].landmarks for f in out])
        conf = np.stack([f[0].confidences for f in out])
        return nme(lm, gt[idx], norm[idx]) * 100, (lm, conf)

    landmark_all, (lm_all, conf_all) = run(np.arange(len(faces)), tight_boxes(gt))
    result = {"faces": len(faces), "nme_landmark_boxes": round(float(landmark_all.mean()), 3),
              "detectors": {}}
    for detector in detectors:
        found, det, mapped_boxes = [], [], []
        for i in range(len(images)):
            found_dets, box_model = _detect_by_model(faces[i][0], detector)
            pairs = match_faces(found_dets.boxes, tight_boxes(gt[i:i + 1]))
            if pairs:
                found.append(i)
                det.append(found_dets.boxes[pairs[0][0]])
                mapped_boxes.append(mapping_for(box_model).apply(det[-1])[0])
        mapped, _ = run(np.array(found), np.stack(mapped_boxes))
        raw, _ = run(np.array(found), np.stack(det))
        result["detectors"][detector] = {
            "detected": len(found),
            "nme_landmark_boxes_same_faces": round(float(landmark_all[found].mean()), 3),
            "nme_detector_boxes_mapped": round(float(mapped.mean()), 3),
            "nme_detector_boxes_raw": round(float(raw.mean()), 3),
            "fr10_detector_boxes_mapped": round(float((mapped > 10).mean() * 100), 2),
        }
        print(detector, result["detectors"][detector], flush=True)
    point_err = np.linalg.norm(lm_all - gt, axis=-1) / norm[:, None] * 100
    e, c = point_err.ravel(), conf_all.ravel()
    low = c <= np.quantile(c, 0.1)
    result["confidence"] = {
        "points": int(e.size),
        "least_confident_10pct_mean_error": round(float(e[low].mean()), 3),
        "rest_mean_error": round(float(e[~low].mean()), 3),
        "auroc_error_above_median": round(auroc(-c, e > np.median(e)), 4),
        "face_spearman_mean_confidence_vs_nme": round(float(_spearman(
            conf_all.mean(axis=1), landmark_all)), 4),
    }
    return result


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def timings(detector: str) -> dict:
    """Median ms per dlib photo at 1 and 2 threads."""
    from awing_tf.images import read_image
    from awing_tf.inference.face_detection import detect_faces

    photos = [read_image(p) for p, _ in dlib_photos(
        os.path.join(FLAGS.data, "smoke_real", "dlib_faces"))]
    out = {}
    for threads in (1, 2):
        for image in photos:  # warm-up (interpreters load once)
            detect_faces(image, detector=detector, num_threads=threads)
        per_image = []
        for _ in range(FLAGS.timing_runs):
            for image in photos:
                t = time.perf_counter()
                detect_faces(image, detector=detector, min_score=FLAGS.min_face_score,
                             num_threads=threads)
                per_image.append((time.perf_counter() - t) * 1000)
        out[f"ms_per_image_{threads}_threads"] = round(float(np.median(per_image)), 2)
    return out


def main(argv: list[str]) -> None:
    del argv
    result = load_json(FLAGS.out)
    result["machine_at_start"] = machine_info()
    result["settings"] = {"min_face_score": FLAGS.min_face_score, "match_iou": 0.3,
                          "model": FLAGS.model, "decode": FLAGS.decode,
                          "flip_test": FLAGS.flip_test}
    pairs: dict[str, list] = {}
    for detector in FLAGS.detectors if "recall" in FLAGS.parts else ():
        row = result.setdefault("detectors", {})[detector] = {}
        print(f"--- {detector}", flush=True)
        row["dlib_photos"] = dlib_recall(detector)
        row["300w_train"] = train_recall(detector, pairs)
        print(row, flush=True)
    if pairs:
        result["box_mappings"] = {model: fit_mapping(p) for model, p in sorted(pairs.items())}
        print(result["box_mappings"], flush=True)
        write_json(FLAGS.out, result)
    if FLAGS.fit_mapping and pairs:
        from awing_tf.inference.box_mapping import MAPPINGS_FILE

        write_json(MAPPINGS_FILE, {
            "about": "detector box -> tight landmark box per detector model, fitted by "
                     "bench/detect.py (medians) on the 300w_train faces each model found",
            "mappings": {model: {k: m[k] for k in ("dx", "dy", "sw", "sh")}
                         for model, m in result["box_mappings"].items()}})
    if "nme" in FLAGS.parts and FLAGS.model:
        result["300w_common"] = common_nme(FLAGS.nme_detectors)
        print(result["300w_common"], flush=True)
        write_json(FLAGS.out, result)
    if "timing" in FLAGS.parts:
        result["timing"] = {"machine_at_start": machine_info(),
                            "runs": FLAGS.timing_runs, "photos": "smoke_real/dlib_faces"}
        for detector in FLAGS.detectors:
            result["timing"][detector] = timings(detector)
            print(detector, result["timing"][detector], flush=True)
        write_json(FLAGS.out, result)
    print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
    sys.exit(app.run(main))
