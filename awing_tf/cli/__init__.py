"""Command-line apps: thin absl layers over the library (``awing-train``, ``awing-evaluate``,
``awing-predict``). Flags are defined from TensorFlow-free modules and the library is
imported after the flags are checked, so ``--help`` and usage errors answer at once."""

from __future__ import annotations

import sys
from collections.abc import Callable

from absl import app, flags


def run_app(main: Callable[[list[str]], None], module_name: str) -> None:
    """``app.run(main)`` with ``module_name``'s flags and docstring shown by ``--help``,
    however the app was started (console script, ``python -m`` on the app or on a module
    that forwards to it)."""
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    main_module = sys.modules.get("__main__")
    if main_module is not None:
        main_module.__doc__ = sys.modules[module_name].__doc__
    app.run(main)
