"""MediaPipe's face-landmark model as the latency reference of the export benchmark.

Its ``face_landmark.tflite`` is a file the user obtains once, outside any benchmark run::

    pip download --no-deps mediapipe==0.10.14 -d /tmp/mediapipe
    unzip -j /tmp/mediapipe/mediapipe-0.10.14-*.whl \
        mediapipe/modules/face_landmark/face_landmark.tflite -d /tmp/mediapipe

and passes with ``--mediapipe_tflite=/tmp/mediapipe/face_landmark.tflite``.
"""

from __future__ import annotations

import os

from bench.harness.latency import tflite_latency

WHEEL = "mediapipe==0.10.14"
MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"
HOW_TO_OBTAIN = (
    f"obtain it once, outside the benchmark: `pip download --no-deps {WHEEL} -d DIR`, then "
    f"unzip `{MEMBER}` from the wheel in DIR (e.g. `unzip -j DIR/mediapipe-0.10.14-*.whl "
    f"{MEMBER} -d DIR`) and pass --mediapipe_tflite=DIR/face_landmark.tflite")


def check_model_file(path: str) -> None:
    """Raises ``FileNotFoundError`` saying how to obtain the model when ``path`` is not a
    file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--mediapipe_tflite={path!r}: no such file; {HOW_TO_OBTAIN}")


def mediapipe_row(path: str, warmup: int, runs: int) -> dict:
    """``{model, size_bytes, latency_ms_1t, latency_ms_2t}`` of MediaPipe's model."""
    check_model_file(path)
    return {"model": f"{WHEEL}:{MEMBER}", "size_bytes": os.path.getsize(path),
            "latency_ms_1t": tflite_latency(path, 1, warmup, runs),
            "latency_ms_2t": tflite_latency(path, 2, warmup, runs)}


def latency_ratios(results: dict) -> dict:
    """Our latency / MediaPipe's for every TFLite row of the mobile model (``{}`` when
    MediaPipe was not measured)."""
    reference = results.get("mediapipe")
    if not reference:
        return {}
    out = {}
    for mode, entry in results.get("mobile", {}).items():
        if mode == "keras":
            continue
        for threads in ("1t", "2t"):
            key = f"latency_ms_{threads}"
            out[f"mobile_{mode}_over_mediapipe_{threads}"] = entry[key] / reference[key]
    return out
