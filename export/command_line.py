"""Starting an export command line (``python -m export.<package>``)."""

from __future__ import annotations

import os
from collections.abc import Callable

from awing_tf.cli import run_app


def run_export_app(main: Callable[[list[str]], None], module_name: str) -> None:
    """``awing_tf.cli.run_app(main, module_name)`` with TensorFlow's C++ log limited to
    errors unless ``TF_CPP_MIN_LOG_LEVEL`` is set; call it before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    run_app(main, module_name)
