"""The machine a benchmark ran on: CPU model, cores and load average (Linux ``/proc``)."""

from __future__ import annotations

import os
import platform


def _cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return fh.read()
    except OSError:
        return ""


def cpu_model() -> str:
    """The ``model name`` of ``/proc/cpuinfo``, else ``platform.processor()`` or the
    architecture."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The instruction-set flags of the first CPU in ``/proc/cpuinfo`` (empty elsewhere)."""
    for line in _cpuinfo().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded to 2 decimals."""
    return [round(v, 2) for v in os.getloadavg()]


def machine_info() -> dict:
    """``{"cpu_model", "cpu_count", "load_average"}`` now: what every result JSON records
    (as ``machine_at_start``) so that timings on a shared, noisy machine can be judged."""
    return {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
            "load_average": load_average()}
