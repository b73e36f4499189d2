r"""dlib's 68-point shape predictor on 300W test faces: what users pick instead.

    python -m bench.dlib_reference --dlib_python=/path/to/dlib-venv/bin/python \
        --data=../shared/data/300w_common --out=bench/results/dlib_300w.json

dlib is never a dependency: it runs in a separate environment with ``dlib-bin==20.0.1.post1``
and ``face-recognition-models==0.3.0`` (its ``shape_predictor_68_face_landmarks.dat``),
which ``make dlib-venv`` creates once; this benchmark installs nothing.

dlib's predictor expects boxes from its own HOG detector, so each face gets a box in that
convention: the detector runs on every image, the detections that match an annotated face
(IoU >= 0.3 with its landmark box) fit the map from landmark box to detector box (centre
offset and size as fractions of the landmark box's size, means over the matches), and every
face's box is its landmark box through that map. NMEs are inter-ocular (outer eye corners),
mean and median per subset. dlib's predictor was trained on 300-W, which likely includes
these test images.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import numpy as np
from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_string("dlib_python", None,
                    "Python of an environment with dlib-bin and face-recognition-models "
                    "(make dlib-venv).")
flags.DEFINE_string("data", None, "A 300W-style folder with list.txt and .pts files "
                    "(default: $AWING_DATA/300w_common).")
flags.DEFINE_string("out", "bench/results/dlib_300w.json", "Where to write the JSON.")
flags.DEFINE_integer("upsample", 1, "Times the HOG detector upsamples each image.")
flags.mark_flags_as_required(["dlib_python"])

WORKER = pathlib.Path(__file__).resolve().with_name("dlib_worker.py")
MATCH_IOU = 0.3


def read_pts(path: pathlib.Path) -> np.ndarray:
    """The ``(K, 2)`` points of a 300W ``.pts`` file."""
    lines = path.read_text().splitlines()
    rows = lines[lines.index("{") + 1:lines.index("}")]
    return np.array([[float(v) for v in ln.split()] for ln in rows], np.float64)


def box_of(points: np.ndarray) -> np.ndarray:
    """The tight box ``(4,)`` x1 y1 x2 y2 of ``points (K, 2)``."""
    return np.concatenate([points.min(0), points.max(0)])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    lo = np.maximum(a[:2], b[:2])
    hi = np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(hi - lo, 0, None)))
    area = float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]))
    return inter / max(area - inter, 1e-9)


def _as_params(box: np.ndarray) -> np.ndarray:
    """x1 y1 x2 y2 -> centre x, centre y, width, height."""
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0],
                     box[3] - box[1]])


def fit_box_map(landmark_boxes: np.ndarray, detector_boxes: np.ndarray) -> dict[str, float]:
    """Detector box = landmark box shifted by (dx, dy) x its size and scaled by (sx, sy):
    the means over matched pairs ``(N, 4)``."""
    lm = np.array([_as_params(b) for b in landmark_boxes])
    det = np.array([_as_params(b) for b in detector_boxes])
    return {"dx": float(np.mean((det[:, 0] - lm[:, 0]) / lm[:, 2])),
            "dy": float(np.mean((det[:, 1] - lm[:, 1]) / lm[:, 3])),
            "sx": float(np.mean(det[:, 2] / lm[:, 2])),
            "sy": float(np.mean(det[:, 3] / lm[:, 3]))}


def map_box(box: np.ndarray, m: dict[str, float]) -> np.ndarray:
    cx, cy, w, h = _as_params(box)
    cx, cy, w, h = cx + m["dx"] * w, cy + m["dy"] * h, w * m["sx"], h * m["sy"]
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def ask_worker(python: str, request: dict) -> dict:
    """One request to ``bench/dlib_worker.py`` under ``python``; errors name the worker."""
    proc = subprocess.run([python, str(WORKER)], input=json.dumps(request), text=True,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{WORKER.name} under {python} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def subset_metrics(nmes: np.ndarray) -> dict:
    from awing_tf.metrics import auc, failure_rate

    return {"count": int(nmes.size), "nme_io": round(float(nmes.mean()) * 100, 4),
            "median_nme_io": round(float(np.median(nmes)) * 100, 4),
            "fr_10": round(failure_rate(nmes, 0.10) * 100, 4),
            "auc_10": round(auc(nmes, 0.10), 5)}


def main(argv: list[str]) -> None:
    del argv
    from awing_tf.metrics import nme, normalizer_distance
    from bench.harness.machine import machine_info
    from bench.harness.results import write_json

    data = pathlib.Path(FLAGS.data or pathlib.Path(os.environ.get(
        "AWING_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"))
        / "300w_common")
    if not os.path.isfile(FLAGS.dlib_python):
        raise app.UsageError(f"--dlib_python {FLAGS.dlib_python!r}: no such file "
                             "(make dlib-venv creates .dlib-venv/bin/python)")
    if not (data / "list.txt").is_file():
        raise app.UsageError(f"--data {str(data)!r}: no list.txt")
    machine = machine_info()
    names = [n for n in (data / "list.txt").read_text().split() if n]
    images = [str(data / n) for n in names]
    gt = np.stack([read_pts((data / n).with_suffix(".pts")) for n in names])
    lm_boxes = np.stack([box_of(p) for p in gt])
    found = ask_worker(FLAGS.dlib_python, {"task": "detect", "images": images,
                                           "upsample": FLAGS.upsample})["boxes"]
    matched = []
    for i, boxes in enumerate(found):
        scores = [iou(lm_boxes[i], np.asarray(b, np.float64)) for b in boxes]
        if scores and max(scores) >= MATCH_IOU:
            matched.append((i, np.asarray(boxes[int(np.argmax(scores))], np.float64)))
    if len(matched) < 10:
        raise RuntimeError(f"the detector matched only {len(matched)} faces: too few to fit")
    box_map = fit_box_map(lm_boxes[[i for i, _ in matched]], np.stack([b for _, b in matched]))
    faces = [{"image": img, "box": map_box(b, box_map).tolist()}
             for img, b in zip(images, lm_boxes, strict=True)]
    pred = np.asarray(ask_worker(FLAGS.dlib_python, {"task": "predict", "faces": faces})
                      ["landmarks"], np.float64)
    nmes = nme(pred, gt, normalizer_distance(gt, "300w68", "inter_ocular"))
    subsets = {"all": np.ones(len(names), bool)}
    for prefix in sorted({n.split("/")[0] for n in names}):
        subsets[prefix] = np.array([n.startswith(prefix + "/") for n in names])
    result = {
        "benchmark": "dlib 68-point shape predictor on 300W test faces (bench/dlib_reference.py)",
        "machine_at_start": machine,
        "data": str(data),
        "detector": {"upsample": FLAGS.upsample, "faces": len(names),
                     "matched": len(matched), "recall": round(len(matched) / len(names), 4),
                     "match_iou": MATCH_IOU},
        "box_map": box_map,
        "tests": {name: subset_metrics(nmes[sel]) for name, sel in subsets.items()},
        "per_face": [{"source_id": n, "nme_io": round(float(e) * 100, 4)}
                     for n, e in zip(names, nmes, strict=True)],
    }
    write_json(FLAGS.out, result)
    for name, t in result["tests"].items():
        print(f"{name}: {t['count']} faces, NME io {t['nme_io']:.2f} % (median "
              f"{t['median_nme_io']:.2f}), FR@10 {t['fr_10']:.2f} %")
    logging.info("wrote %s", FLAGS.out)


if __name__ == "__main__":
    app.run(main)
