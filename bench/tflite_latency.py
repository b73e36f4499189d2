"""Interleaved single-image latency of several ``.tflite`` models on one interpreter thread
count, for ratios on a noisy CPU.

    python -m bench.tflite_latency --iterations=1000 --threads=1 \
        mobile_int8=/tmp/mobile_int8.tflite mediapipe=/tmp/face_landmark.tflite \
        --out=/tmp/latency.json

Every iteration invokes each model once, in the order given, so all models see the same
machine state; per model it reports the median, 10th percentile and minimum time (ms) and
the median over iterations of its time divided by the reference model's time in the same
iteration (``--reference``, default the last model). ``machine_at_start`` records the CPU model,
cores and load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench.harness.machine import machine_info  # noqa: E402
from bench.harness.results import write_json  # noqa: E402


def paired_summary(times_s: dict[str, list[float]], reference: str) -> dict[str, dict]:
    """Per model ``{median_ms, p10_ms, min_ms, median_ratio_to_reference}`` from
    ``times_s[name]``: seconds per iteration, the same iterations for every model."""
    if reference not in times_s:
        raise ValueError(f"reference {reference!r} is not one of {sorted(times_s)}")
    lengths = {len(v) for v in times_s.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"every model needs the same, non-zero number of times, got "
                         f"{ {k: len(v) for k, v in times_s.items()} }")
    ref = np.asarray(times_s[reference], np.float64)
    out = {}
    for name, values in times_s.items():
        ms = 1000.0 * np.asarray(values, np.float64)
        out[name] = {"median_ms": float(np.median(ms)),
                     "p10_ms": float(np.percentile(ms, 10)),
                     "min_ms": float(ms.min()),
                     "median_ratio_to_reference": float(np.median(ms / (1000.0 * ref)))}
    return out


def interleaved_times(paths: dict[str, str], threads: int, iterations: int,
                      warmup: int = 20) -> dict[str, list[float]]:
    """Seconds per ``invoke`` of each model, ``iterations`` rounds of one invoke each."""
    from bench.harness.latency import tflite_interpreter

    interpreters = {}
    for name, path in paths.items():
        if not os.path.isfile(path):
            raise ValueError(f"{name}: no such .tflite file: {path}")
        it = tflite_interpreter(path, threads)
        for _ in range(warmup):
            it.invoke()
        interpreters[name] = it
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(iterations):
        for name, it in interpreters.items():
            start = time.perf_counter()
            it.invoke()
            times[name].append(time.perf_counter() - start)
    return times


def parse_models(specs: list[str]) -> dict[str, str]:
    """``["name=path", ...]`` -> ``{name: path}`` in order."""
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"model argument must be NAME=PATH, got {spec!r}")
        if name in models:
            raise ValueError(f"model name {name!r} given twice")
        models[name] = path
    return models


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="NAME=PATH.tflite, in invoke order")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--reference", default=None, help="default: the last model")
    parser.add_argument("--out", default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    try:
        models = parse_models(args.models)
    except ValueError as e:
        parser.error(str(e))
    reference = args.reference or list(models)[-1]
    if reference not in models:
        parser.error(f"--reference {reference!r} is not one of {list(models)}")
    machine = machine_info()
    summary = paired_summary(interleaved_times(models, args.threads, args.iterations,
                                               args.warmup), reference)
    for name, row in summary.items():
        print(f"{name:24s} median {row['median_ms']:.3f} ms  p10 {row['p10_ms']:.3f}  "
              f"min {row['min_ms']:.3f}  x{row['median_ratio_to_reference']:.3f} {reference}")
    if args.out:
        write_json(args.out, {"threads": args.threads, "iterations": args.iterations,
                              "reference": reference, "models": models, "results": summary,
                              "machine_at_start": machine})


if __name__ == "__main__":
    main(sys.argv[1:])
