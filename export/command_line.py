"""Starting an export command line (``python -m export.<package>``)."""

from __future__ import annotations

import os
from collections.abc import Callable

from absl import app

from awing_tf.cli import run_app
from awing_tf.model_files import resolve_model_path


def run_export_app(main: Callable[[list[str]], None], module_name: str) -> None:
    """``awing_tf.cli.run_app(main, module_name)`` with TensorFlow's C++ log limited to
    errors unless ``TF_CPP_MIN_LOG_LEVEL`` is set; call it before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    run_app(main, module_name)


def model_path_flag(value: str) -> str:
    """The model file a ``--model`` value names (a ``.keras`` file, a run folder or a
    pretrained name); ``app.UsageError`` with the reason when there is none."""
    try:
        return resolve_model_path(value)
    except (FileNotFoundError, KeyError, ValueError) as err:
        raise app.UsageError(str(err)) from None
