"""Shared test fixtures: the real-data path and quiet TensorFlow logging."""

from __future__ import annotations

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


def data_root() -> pathlib.Path:
    """Real annotated data: ``$AWING_DATA`` or ``<repo>/../shared/data``."""
    return pathlib.Path(os.environ.get("AWING_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def real_data() -> pathlib.Path:
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"real data not found at {root} (set AWING_DATA)")
    return root


def read_pts(path: os.PathLike) -> list[tuple[float, ...]]:
    """Minimal independent reader of the 300W .pts text format, for checks in tests."""
    lines = pathlib.Path(path).read_text().splitlines()
    start = lines.index("{") + 1
    end = lines.index("}")
    return [tuple(float(v) for v in ln.split()) for ln in lines[start:end]]


@pytest.fixture(autouse=True)
def _global_dtype_policy_is_restored():
    """Fails a test that leaves Keras' global dtype policy changed (and restores it), so one
    test's mixed precision never leaks into the models the following tests build."""
    import keras

    yield
    policy = keras.mixed_precision.global_policy().name
    if policy != "float32":
        keras.mixed_precision.set_global_policy("float32")
        pytest.fail(f"the test left Keras' global dtype policy at {policy!r}")
