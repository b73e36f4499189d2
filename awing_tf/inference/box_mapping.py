"""From a face detector's box to the box the landmark model was trained with (NumPy).

Models are trained on crops around the tight box of the annotated landmarks (the converters'
default), enlarged by the run's crop margin. A detector's box is a different box: BlazeFace's
is a square around the face from brows to chin, Haar's a larger square. Feeding it as is
shifts and rescales every crop. :class:`BoxMapping` is the affine per-axis correction
``detector box -> landmark box`` fitted on faces whose landmarks are known
(``bench/detect.py --fit_mapping``) and shipped per detector model in
``box_mappings.json`` (BlazeFace's short- and full-range models draw different boxes).
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

MAPPINGS_FILE = os.path.join(os.path.dirname(__file__), "box_mappings.json")


@dataclasses.dataclass(frozen=True)
class BoxMapping:
    """``detector box -> landmark box``: the centre moves by ``(dx, dy)`` times the detector
    box's ``(width, height)`` and the sides scale by ``(sw, sh)``."""

    dx: float = 0.0
    dy: float = 0.0
    sw: float = 1.0
    sh: float = 1.0

    def apply(self, boxes: np.ndarray) -> np.ndarray:
        """``boxes (N, 4)`` x1, y1, x2, y2 -> mapped boxes ``(N, 4)`` float32."""
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        cx = 0.5 * (b[:, 0] + b[:, 2]) + self.dx * w
        cy = 0.5 * (b[:, 1] + b[:, 3]) + self.dy * h
        hw, hh = 0.5 * self.sw * w, 0.5 * self.sh * h
        return np.stack([cx - hw, cy - hh, cx + hw, cy + hh], axis=-1).astype(np.float32)

    @classmethod
    def fit(cls, detector_boxes: np.ndarray, target_boxes: np.ndarray) -> BoxMapping:
        """The mapping that takes ``detector_boxes (N, 4)`` to ``target_boxes (N, 4)``: each
        parameter the median over the faces (robust to the odd poor detection)."""
        d = np.asarray(detector_boxes, np.float64).reshape(-1, 4)
        t = np.asarray(target_boxes, np.float64).reshape(-1, 4)
        if len(d) == 0 or d.shape != t.shape:
            raise ValueError(f"need matching non-empty (N, 4) boxes, got {d.shape} and "
                             f"{t.shape}")
        dw, dh = d[:, 2] - d[:, 0], d[:, 3] - d[:, 1]
        if np.any(dw <= 0) or np.any(dh <= 0):
            raise ValueError("detector boxes must have positive width and height")
        return cls(
            dx=float(np.median((t[:, 0] + t[:, 2] - d[:, 0] - d[:, 2]) / (2 * dw))),
            dy=float(np.median((t[:, 1] + t[:, 3] - d[:, 1] - d[:, 3]) / (2 * dh))),
            sw=float(np.median((t[:, 2] - t[:, 0]) / dw)),
            sh=float(np.median((t[:, 3] - t[:, 1]) / dh)))

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 5) for k, v in dataclasses.asdict(self).items()}


def mapping_for(model: str, path: str = MAPPINGS_FILE) -> BoxMapping:
    """The shipped mapping of the detector model ``model`` (``blazeface_short``,
    ``blazeface_full`` or ``haar``: ``face_detection.BOX_MODELS``); the identity when none
    was fitted for it."""
    if not os.path.isfile(path):
        return BoxMapping()
    with open(path) as fh:
        entry = json.load(fh).get("mappings", {}).get(model)
    return BoxMapping(**entry) if entry else BoxMapping()
