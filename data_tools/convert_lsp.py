"""Converts LSP / LSP-extended (``joints.mat`` + ``images/``) to TFRecords (scheme ``lsp14``).

Two layouts of ``joints`` are recognised by shape:

* LSP-extended: ``(14, 3, N)``: x, y and a visibility flag where **1 = visible**.
* original LSP: ``(3, 14, N)``: x, y and a flag where **1 = occluded** (the dataset README
  calls the third row "visibility", but in the released file 0 marks the visible joints), so
  ``visible = 1 - flag``. This reading is the common practice of LSP loaders and was not
  checkable here (no original LSP file in the shared data): ``--flag_meaning`` overrides it.

Images are ``images/im00001.jpg`` (LSP-extended, 5 digits) or ``images/im0001.jpg`` (LSP,
4 digits): both are tried. Coordinates are kept as stored (``--one_based`` subtracts 1).
The box is the tight box of the visible joints enlarged by ``--margin`` of its size on each
side and clipped to the image; a person with no visible joint is skipped.

    python -m data_tools.convert_lsp --input=LSPET_ROOT --output=PREFIX [--limit=100]
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import numpy as np
from absl import flags

from data_tools import cli
from data_tools.boxes import enlarge_box, tight_box
from data_tools.images import load_image
from data_tools.items import Item, SkipRecord, attempt
from data_tools.matlab import load_matlab_v5
from data_tools.records import FaceRecord
from data_tools.writing import ConversionSummary, OutputSpec

NUM_JOINTS = 14


FLAG_MEANINGS = ("auto", "visible", "occluded")


def load_joints(path: str | os.PathLike, flag_meaning: str = "auto"
                ) -> tuple[np.ndarray, np.ndarray]:
    """``joints.mat`` -> ``(xy (N, 14, 2) float64, visible (N, 14) int64)``.

    ``flag_meaning``: what a third-row value of 1 means; ``auto`` = by layout (see the module
    docstring), ``visible`` or ``occluded`` to force it.
    """
    if flag_meaning not in FLAG_MEANINGS:
        raise ValueError(f"flag_meaning must be one of {FLAG_MEANINGS}, got {flag_meaning!r}")
    mat = load_matlab_v5(path)
    if "joints" not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(f"{path}: no 'joints' variable; found {found}")
    joints = np.asarray(mat["joints"], np.float64)
    if joints.ndim != 3:
        raise ValueError(f"{path}: joints must be 3-D, got shape {joints.shape}")
    if joints.shape[:2] == (NUM_JOINTS, 3):  # LSP-extended: (14, 3, N), 1 = visible
        arr = joints.transpose(2, 0, 1)
        visible = arr[:, :, 2] > 0.5
    elif joints.shape[:2] == (3, NUM_JOINTS):  # original LSP: (3, 14, N), 1 = occluded
        arr = joints.transpose(2, 1, 0)
        visible = arr[:, :, 2] < 0.5
    else:
        raise ValueError(f"{path}: joints shape {joints.shape} is neither (14, 3, N) nor "
                         "(3, 14, N)")
    if flag_meaning != "auto":
        flag = arr[:, :, 2] > 0.5
        visible = flag if flag_meaning == "visible" else ~flag
    return arr[:, :, :2], visible.astype(np.int64)


def image_path(root: pathlib.Path, index: int) -> pathlib.Path:
    """``images/im00001.jpg`` (or the 4-digit LSP name) of the 0-based ``index``."""
    for digits in (5, 4):
        p = root / "images" / f"im{index + 1:0{digits}d}.jpg"
        if p.is_file():
            return p
    return root / "images" / f"im{index + 1:05d}.jpg"


def person_record(root: pathlib.Path, index: int, xy: np.ndarray, visible: np.ndarray,
                  margin: float, one_based: bool) -> FaceRecord:
    """One person (raises ``SkipRecord``)."""
    path = image_path(root, index)
    rel = path.relative_to(root).as_posix()
    pts = xy - (1.0 if one_based else 0.0)
    if not np.any(visible):
        raise SkipRecord("no_visible_points", rel, "visibility", visible.tolist())
    data, h, w = load_image(path, rel)
    if not np.all(np.isfinite(pts)):
        raise SkipRecord("non_finite_landmarks", rel, "joints", pts.tolist())
    box = enlarge_box(tight_box(pts, visible), margin, h, w)
    return FaceRecord(image_bytes=data, source_id=rel, height=h, width=w,
                      landmarks=pts.astype(np.float32), scheme="lsp14", bbox=box,
                      visible=visible)


def iter_lsp_items(root: str | os.PathLike, margin: float = 0.2, one_based: bool = False,
                   limit: int | None = None, flag_meaning: str = "auto"
                   ) -> tuple[Iterator[Item], int]:
    """``(items, count)`` for the people in ``root/joints.mat``."""
    root = pathlib.Path(root)
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    xy, visible = load_joints(root / "joints.mat", flag_meaning)
    n = len(xy) if not limit else min(limit, len(xy))

    def items() -> Iterator[Item]:
        for i in range(n):
            yield from attempt(
                f"person {i}",
                lambda i=i: [person_record(root, i, xy[i], visible[i], margin, one_based)])

    return items(), n


def convert_lsp(
    input_dir: str | os.PathLike,
    output: OutputSpec,
    margin: float = 0.2,
    one_based: bool = False,
    limit: int | None = None,
    flag_meaning: str = "auto",
) -> ConversionSummary:
    """Converts an LSP / LSP-extended folder to ``output``; returns what was written and
    skipped."""
    items, total = iter_lsp_items(input_dir, margin, one_based, limit, flag_meaning)
    return output.write(items, "lsp14", total, desc="lsp")


def define_flags() -> None:
    """The shared converter flags, ``--margin`` and ``--flag_meaning``."""
    cli.define_converter_flags("LSP / LSP-extended folder with joints.mat, images/.")
    flags.adopt_module_key_flags(cli)
    flags.DEFINE_float("margin", 0.2, "Box margin around the visible joints (fraction/side).",
                       lower_bound=0.0)
    flags.DEFINE_enum("flag_meaning", "auto", list(FLAG_MEANINGS),
                      "Meaning of a 1 in the joints' third row: auto (LSP-extended (14,3,N): "
                      "visible; original LSP (3,14,N): occluded), or force visible/occluded.")


def convert_from_flags(f: flags.FlagValues, output: OutputSpec) -> ConversionSummary:
    """``convert_lsp`` of the command-line flags."""
    return convert_lsp(f.input, output, f.margin, f.one_based, f.limit, f.flag_meaning)


if __name__ == "__main__":
    define_flags()
    cli.run_converter(convert_from_flags)
