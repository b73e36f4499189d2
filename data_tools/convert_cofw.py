"""Converts COFW (29 points) to TFRecords: the official ``.mat`` files or ``.pts`` folders.

``.mat`` input (``COFW_train_color.mat`` / ``COFW_test_color.mat``): variables
``IsTr``/``IsT`` (a cell of N images, uint8 H x W x 3 or H x W), ``phisTr``/``phisT``
(N x 87: 29 x, 29 y, 29 occlusion flags where 1 = occluded -> ``visible = 0``) and
``bboxesTr``/``bboxesT`` (N x 4: x, y, w, h -> ``x, y, x + w, y + h``).

* MATLAB v5/v7 files are read with ``scipy.io.loadmat`` (arrays come out as MATLAB shows them).
* MATLAB v7.3 files are HDF5, read with ``h5py``. HDF5 stores MATLAB's column-major arrays with
  the dimensions reversed: the N x 1 cell ``IsTr`` is a (1, N) dataset of object references,
  each H x W x 3 image a (3, W, H) dataset (H x W grey: (W, H)), ``phisTr`` (87, N) and
  ``bboxesTr`` (4, N). ``np.transpose`` (reversing all axes) restores the MATLAB layout.

Images are stored as PNG (lossless); source ids are ``FILE.mat/00042`` (0-based index).
COFW's coordinates come from MATLAB (1-based): pass ``--one_based`` to subtract 1; nothing is
subtracted by default.

A directory input is read as ``.pts`` files next to images (e.g. ``helen29/``: 29 points in
image pixels, no boxes: the tight landmark box is used), exactly like ``convert_300w``.

    python -m data_tools.convert_cofw --input=COFW_test_color.mat --output=PREFIX
    python -m data_tools.convert_cofw --input=helen29/ --output=PREFIX
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import h5py
import numpy as np
from absl import flags

from data_tools import cli
from data_tools.convert_300w import iter_300w_items
from data_tools.images import array_to_png
from data_tools.items import Item, SkipRecord, attempt
from data_tools.matlab import load_matlab_v5
from data_tools.records import FaceRecord
from data_tools.writing import ConversionSummary, OutputSpec

NUM_POINTS = 29


def _pick(names: list[str], stem: str) -> str:
    """``stem + 'Tr'`` or ``stem + 'T'`` (train / test file), whichever exists."""
    for suffix in ("Tr", "T"):
        if stem + suffix in names:
            return stem + suffix
    raise ValueError(f"no {stem}Tr / {stem}T variable; found {sorted(names)}")


def _load_v5(path: pathlib.Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Images, phis and boxes of a MATLAB v5/v7 file, as MATLAB shows them."""
    m = load_matlab_v5(path)
    names = [k for k in m if not k.startswith("__")]
    cells = m[_pick(names, "Is")].reshape(-1)
    phis = np.asarray(m[_pick(names, "phis")], np.float64)
    boxes = np.asarray(m[_pick(names, "bboxes")], np.float64)
    return [np.asarray(c) for c in cells], phis, boxes


def _load_v73(path: pathlib.Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Images, phis and boxes of a MATLAB v7.3 (HDF5) file, axes back in MATLAB order."""
    with h5py.File(path, "r") as f:
        names = list(f.keys())
        refs = np.asarray(f[_pick(names, "Is")]).reshape(-1)
        images = [np.transpose(np.asarray(f[r])) for r in refs]  # (3, W, H) -> (H, W, 3)
        phis = np.transpose(np.asarray(f[_pick(names, "phis")], np.float64))  # (87, N) -> (N, 87)
        boxes = np.transpose(np.asarray(f[_pick(names, "bboxes")], np.float64))  # (4, N)
    return images, phis, boxes


def load_cofw_mat(path: str | os.PathLike) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``(images [(H, W[, 3]) uint8 RGB], phis (N, 87), boxes (N, 4) x y w h)``."""
    path = pathlib.Path(path)
    images, phis, boxes = _load_v73(path) if h5py.is_hdf5(path) else _load_v5(path)
    n = len(images)
    if phis.shape != (n, 3 * NUM_POINTS) or boxes.shape != (n, 4):
        raise ValueError(f"{path}: expected phis ({n}, 87) and bboxes ({n}, 4), got "
                         f"{phis.shape} and {boxes.shape}")
    return images, phis, boxes


def mat_record(name: str, index: int, image: np.ndarray, phis: np.ndarray, box: np.ndarray,
               one_based: bool) -> FaceRecord:
    """One face of a COFW ``.mat`` (raises ``SkipRecord``)."""
    source = f"{name}/{index:05d}"
    data, h, w = array_to_png(image, source)
    shift = 1.0 if one_based else 0.0
    pts = np.stack([phis[:NUM_POINTS], phis[NUM_POINTS : 2 * NUM_POINTS]], axis=1) - shift
    occluded = phis[2 * NUM_POINTS :]
    if not np.all(np.isfinite(occluded)):
        raise SkipRecord("bad_flags", source, "occlusion", occluded.tolist())
    x, y, bw, bh = box
    return FaceRecord(image_bytes=data, source_id=source, height=h, width=w,
                      landmarks=pts.astype(np.float32), scheme="cofw29",
                      bbox=np.asarray([x - shift, y - shift, x + bw - shift, y + bh - shift]),
                      visible=(occluded < 0.5).astype(np.int64))


def iter_cofw_mat_items(path: str | os.PathLike, one_based: bool = False,
                        limit: int | None = None) -> tuple[Iterator[Item], int]:
    """``(items, count)`` for the faces of one COFW ``.mat`` file."""
    path = pathlib.Path(path)
    images, phis, boxes = load_cofw_mat(path)
    n = len(images) if not limit else min(limit, len(images))

    def items() -> Iterator[Item]:
        for i in range(n):
            yield from attempt(
                f"{path.name}/{i}",
                lambda i=i: [mat_record(path.name, i, images[i], phis[i], boxes[i], one_based)])

    return items(), n


def convert_cofw(
    input_path: str | os.PathLike,
    output: OutputSpec,
    one_based: bool = False,
    limit: int | None = None,
) -> ConversionSummary:
    """Converts a COFW ``.mat`` file or a 29-point ``.pts`` folder to ``output``."""
    if pathlib.Path(input_path).is_dir():
        items, total = iter_300w_items(input_path, "cofw29", None, one_based, limit)
    else:
        items, total = iter_cofw_mat_items(input_path, one_based, limit)
    return output.write(items, "cofw29", total, desc="cofw")


def define_flags() -> None:
    """The shared converter flags (COFW has no flags of its own)."""
    cli.define_converter_flags("COFW_{train,test}_color.mat, or a folder of 29-point .pts "
                               "files next to their images.")
    flags.adopt_module_key_flags(cli)


def convert_from_flags(f: flags.FlagValues, output: OutputSpec) -> ConversionSummary:
    """``convert_cofw`` of the command-line flags."""
    return convert_cofw(f.input, output, f.one_based, f.limit)


if __name__ == "__main__":
    define_flags()
    cli.run_converter(convert_from_flags)
