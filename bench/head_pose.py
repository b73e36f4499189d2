"""Head-pose benchmark: mean absolute yaw / pitch / roll error of
``awing_tf.inference.head_pose`` on synthetic faces at known poses.

    nice -n 10 python -m bench.head_pose --out=bench/results/head_pose.json \
        [--model=runs/headpose/model] [--faces=60] [--seed=0]

Rows: sweeps of one angle with the other two in a small base range (|yaw| <= 15,
|pitch| <= 10, |roll| <= 15 degrees): yaw up to 15, 30, 45, 60; pitch up to 10, 20, 30; roll
up to 15, 30, 45; and combined ranges (all three at once). Per row ``--faces`` poses drawn
uniformly in the ranges, each with a random expression (``random_expression``), the scale and
position of ``random_pose`` (the generator's usual face sizes in a ``--image_size`` image).

Sources: (a) ``true``: the generator's exact landmarks (no model); (b) ``model``: the face
rendered at the pose (``render_face_at``, no occluders unless ``--occluders``), cropped with
its detector-like box as in prediction (``crop_image`` with the model's crop margin), the
model's landmarks mapped back to image pixels. Each source is solved with every camera of
``--focal_factors`` (focal length = factor x image width; 1 is the library's default, larger
factors approach the generator's orthographic projection). ``summary`` gives, per source,
camera and sweep, the widest range whose three MAEs stay below ``--threshold`` degrees.
``machine_at_start`` records the CPU model, cores and load average.
"""

from __future__ import annotations

import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from awing_tf.inference.head_pose import head_poses  # noqa: E402
from bench.harness.machine import machine_info  # noqa: E402
from bench.harness.results import write_json  # noqa: E402
from data_tools.synthetic.geometry import FaceGeometry, Pose, project  # noqa: E402
from data_tools.synthetic.render import random_expression, render_face_at  # noqa: E402
from data_tools.synthetic.templates import TEMPLATES  # noqa: E402

SCHEME = "300w68"
ANGLES = ("yaw", "pitch", "roll")
BASE = (15.0, 10.0, 15.0)  # the other angles' range in a one-angle sweep
SWEEPS = {"yaw": (15.0, 30.0, 45.0, 60.0), "pitch": (10.0, 20.0, 30.0),
          "roll": (15.0, 30.0, 45.0)}
COMBINED = ((15.0, 10.0, 15.0), (30.0, 20.0, 30.0), (45.0, 30.0, 45.0), (60.0, 30.0, 45.0))


def define_flags() -> None:
    """Flags of the app (defined only when run as a script)."""
    flags.DEFINE_string("out", "bench/results/head_pose.json", "Result JSON.")
    flags.DEFINE_string("model", None, "Model for the (b) rows: a .keras file, run folder or "
                        "pretrained name (none: only the true-landmark rows).")
    flags.DEFINE_integer("faces", 60, "Faces per row.", lower_bound=1)
    flags.DEFINE_integer("image_size", 256, "Square image side in pixels.", lower_bound=64)
    flags.DEFINE_integer("seed", 0, "Random seed.")
    flags.DEFINE_list("focal_factors", ["1", "10"], "Cameras: focal length / image width.")
    flags.DEFINE_float("threshold", 5.0, "MAE threshold (degrees) for the summary.")
    flags.DEFINE_bool("occluders", False, "Draw the generator's random occluders.")


def rows() -> list[dict]:
    """Every row: ``{"sweep", "max_degrees": {yaw, pitch, roll}}``."""
    out = []
    for index, (sweep, limits) in enumerate(SWEEPS.items()):
        for limit in limits:
            m = list(BASE)
            m[index] = limit
            out.append({"sweep": sweep, "max_degrees": dict(zip(ANGLES, m, strict=True))})
    out += [{"sweep": "combined", "max_degrees": dict(zip(ANGLES, m, strict=True))}
            for m in COMBINED]
    return out


def sample_poses(rng: np.random.Generator, num: int, max_degrees: dict[str, float],
                 image_size: int) -> tuple[list[Pose], np.ndarray]:
    """``num`` poses uniform within ``max_degrees`` at the generator's usual scale and
    position, and their ``(num, 3)`` [yaw, pitch, roll] degrees."""
    poses, angles = [], []
    for _ in range(num):
        a = [float(rng.uniform(-max_degrees[k], max_degrees[k])) for k in ANGLES]
        scale = image_size * rng.uniform(0.16, 0.26)
        center = image_size * (0.5 + rng.uniform(-0.1, 0.1, 2))
        poses.append(Pose(yaw=math.radians(a[0]), pitch=math.radians(a[1]),
                          roll=math.radians(a[2]), scale=float(scale),
                          center=(float(center[0]), float(center[1]) + 0.05 * scale)))
        angles.append(a)
    return poses, np.asarray(angles)


def true_landmarks(rng: np.random.Generator, poses: list[Pose]) -> np.ndarray:
    """``(N, 68, 2)`` exact landmarks of random expressions at ``poses``."""
    return np.stack([project(TEMPLATES[SCHEME](FaceGeometry(random_expression(rng))), p)
                     for p in poses])


def angle_errors(landmarks: np.ndarray, angles: np.ndarray, image_size: int,
                 focal_factor: float) -> dict:
    """``{"mae": {yaw, pitch, roll}, "max": {...}}`` degrees of the poses solved from
    ``landmarks (N, 68, 2)`` against the true ``angles (N, 3)``."""
    got = head_poses(landmarks, (image_size, image_size),
                     focal_length=focal_factor * image_size)
    err = np.abs(got - angles)
    return {name: {k: round(float(v), 3) for k, v in zip(ANGLES, values, strict=True)}
            for name, values in (("mae", err.mean(axis=0)), ("max", err.max(axis=0)))}


def model_landmarks(model, rng: np.random.Generator, poses: list[Pose], image_size: int,
                    occluders: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(predicted, true)`` ``(N, 68, 2)`` image pixels: faces rendered at ``poses``,
    cropped with their box and the model's margin, landmarks mapped back."""
    import cv2

    from awing_tf.face_crop import crop_image, map_points

    crops, inverse, truth = [], [], []
    for pose in poses:
        img, pts, _, box = render_face_at(rng, SCHEME, image_size, pose, occluders=occluders)
        crop, matrix = crop_image(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), box, model.input_size,
                                  model.margin)
        crops.append(crop)
        inverse.append(np.linalg.inv(matrix))
        truth.append(pts)
    pred = model.predict_landmarks(np.stack(crops))
    return map_points(np.stack(inverse), pred), np.stack(truth).astype(np.float64)


def inter_ocular_nme(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean point error / outer eye-corner distance (points 36, 45), in percent."""
    d = np.linalg.norm(truth[:, 36] - truth[:, 45], axis=1)
    return float(100.0 * np.mean(np.linalg.norm(pred - truth, axis=2).mean(axis=1) / d))


def summary(results: list[dict], threshold: float) -> dict:
    """Per source and camera, per sweep: the largest limit of the swept angle (degrees, or
    the combined ``[yaw, pitch, roll]`` limits) with every MAE below ``threshold``, counted
    from the smallest range up; None when the smallest range already fails."""
    out: dict = {}
    for row in results:
        for source in ("true", "model"):
            for camera, errs in row.get(source, {}).items():
                key = out.setdefault(source, {}).setdefault(camera, {})
                ok = max(errs["mae"].values()) < threshold
                sweep = row["sweep"]
                limit = ([row["max_degrees"][k] for k in ANGLES] if sweep == "combined"
                         else row["max_degrees"][sweep])
                state = key.setdefault(sweep, {"below": None, "broken": False})
                if ok and not state["broken"]:
                    state["below"] = limit
                elif not ok:
                    state["broken"] = True
    return {s: {c: {w: v["below"] for w, v in sw.items()} for c, sw in cams.items()}
            for s, cams in out.items()}


def run(model_path: str | None, faces: int, image_size: int, seed: int,
        focal_factors: list[float], occluders: bool = False) -> list[dict]:
    """Every row's errors (see the module docstring)."""
    model = None
    if model_path:
        from awing_tf.models.loading import load_model

        model = load_model(model_path)
    results = []
    for index, row in enumerate(rows()):
        rng = np.random.default_rng([seed, index])
        poses, angles = sample_poses(rng, faces, row["max_degrees"], image_size)
        truth = true_landmarks(rng, poses)
        row = dict(row, count=faces)
        row["true"] = {f"f={f:g}W": angle_errors(truth, angles, image_size, f)
                       for f in focal_factors}
        if model is not None:
            pred, rendered = model_landmarks(model, rng, poses, image_size, occluders)
            row["model_nme_io_percent"] = round(inter_ocular_nme(pred, rendered), 3)
            row["model"] = {f"f={f:g}W": angle_errors(pred, angles, image_size, f)
                            for f in focal_factors}
        logging.info("%s %s: %s", row["sweep"], row["max_degrees"],
                     {s: row[s][f"f={focal_factors[0]:g}W"]["mae"]
                      for s in ("true", "model") if s in row})
        results.append(row)
    return results


def main(argv: list[str]) -> None:
    """Runs every row and writes ``--out``."""
    del argv
    f = flags.FLAGS
    focal = [float(v) for v in f.focal_factors]
    if not focal or min(focal) <= 0:
        raise app.UsageError(f"--focal_factors must be positive numbers, got {f.focal_factors}")
    start = machine_info()
    t0 = time.monotonic()
    results = run(f.model, f.faces, f.image_size, f.seed, focal, f.occluders)
    doc = {"benchmark": "head_pose", "machine_at_start": start, "machine_at_end": machine_info(),
           "seconds": round(time.monotonic() - t0, 1),
           "settings": {"model": f.model, "faces_per_row": f.faces, "image_size": f.image_size,
                        "seed": f.seed, "focal_factors": focal, "occluders": f.occluders,
                        "threshold_degrees": f.threshold, "base_range_degrees":
                        dict(zip(ANGLES, BASE, strict=True))},
           "summary_widest_range_below_threshold": summary(results, f.threshold),
           "rows": results}
    write_json(f.out, doc)
    for row in results:
        cells = [f"{row['sweep']:8s} " + "/".join(f"{row['max_degrees'][k]:g}" for k in ANGLES)]
        for source in ("true", "model"):
            for camera, e in row.get(source, {}).items():
                cells.append(f"{source} {camera}: " + " ".join(f"{e['mae'][k]:.2f}"
                                                               for k in ANGLES))
        print(" | ".join(cells))
    print(f"written {f.out}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
