"""Public names of a package, loaded from the modules that define them on first use.

A package's ``__init__`` lists its public names by defining module and installs what
``lazy_names`` returns (PEP 562). Importing the package imports nothing else, so
``python -m export.<package>`` parses its flags, answers ``--help`` and sets up its
environment before TensorFlow is imported.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, modules: dict[str, list[str]]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` of ``package``, whose public names are
    ``{module: [names it defines]}``; a name is read from its module once, then kept in the
    package."""
    origin = {name: module for module, names in modules.items() for name in names}

    def getattr_(name: str) -> Any:
        module = origin.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(origin))

    return getattr_, dir_, sorted(origin)
