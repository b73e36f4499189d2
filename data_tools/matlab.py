"""Reading MATLAB ``.mat`` files (v4 to v7.2; v7.3 files are HDF5, read with ``h5py``)."""

from __future__ import annotations

import os
from typing import Any


def load_matlab_v5(path: str | os.PathLike) -> dict[str, Any]:
    """``scipy.io.loadmat`` of a MATLAB v4-v7.2 file; a missing file raises
    ``FileNotFoundError`` and an unreadable one ``ValueError``, both naming the file."""
    import scipy.io  # noqa: PLC0415 (only the .mat converters need it)

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as e:
        raise ValueError(f"{path}: not a readable MATLAB file ({type(e).__name__}: {e})") from e
