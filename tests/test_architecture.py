"""docs/ARCHITECTURE.md matches the tree: every module is in the module map and every mapped
module exists; the import rules between packages hold; TF-free modules import no TensorFlow."""

from __future__ import annotations

import ast
import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "ARCHITECTURE.md"
PACKAGES = ("awing_tf", "data_tools", "export", "bench", "examples")
# what each package may not import (the layers of docs/ARCHITECTURE.md)
FORBIDDEN = {
    "awing_tf": ("data_tools", "export", "bench", "examples"),
    "data_tools": ("export", "bench", "examples"),
    "export": ("data_tools", "bench", "examples"),
}


def _module_rows() -> list[tuple[list[str], str]]:
    rows = []
    for line in DOC.read_text().splitlines():
        if line.startswith("| `"):
            first, rest = line[2:].split(" | ", 1)
            rows.append((re.findall(r"`([^`]+\.py)`", first), rest))
    return rows


def _tree() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if "/results/" not in rel:
                found.add(rel)
    return found


def test_module_map_lists_exactly_the_modules_in_the_tree():
    mapped = {p for paths, _ in _module_rows() for p in paths}
    tree = _tree()
    assert not mapped - tree, f"in the module map but not in the tree: {sorted(mapped - tree)}"
    unlisted = {p for p in tree - mapped if not p.endswith("/__init__.py")}
    assert not unlisted, f"modules missing from docs/ARCHITECTURE.md: {sorted(unlisted)}"


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_the_layers_below_them(package):
    offences = []
    for path in sorted((REPO / package).rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for name in _imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN[package]:
                offences.append(f"{rel} imports {name}")
            if package == "awing_tf" and name.startswith("awing_tf.cli") \
                    and not rel.startswith("awing_tf/cli/") \
                    and rel not in ("awing_tf/train.py", "awing_tf/evaluate.py",
                                    "awing_tf/predict.py"):
                offences.append(f"{rel} imports the command-line layer {name}")
    assert not offences, "\n".join(offences)


def test_modules_marked_tf_free_import_no_tensorflow():
    modules = [p[:-3].replace("/", ".").removesuffix(".__init__")
               for paths, rest in _module_rows() if "TF-free" in rest for p in paths]
    assert "awing_tf.metrics" in modules and "export.runner" in modules
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]", f"TF-free modules imported {proc.stdout.strip()}"
