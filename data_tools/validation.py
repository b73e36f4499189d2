"""The checks a record passes before it is written (failures are skipped, not fatal)."""

from __future__ import annotations

import numpy as np

from awing_tf.schemes import LandmarkScheme
from data_tools.items import SkipRecord
from data_tools.records import FaceRecord


def validate_record(rec: FaceRecord, scheme: LandmarkScheme) -> None:
    """Raises ``SkipRecord`` when ``rec`` is not a usable face of ``scheme``.

    Checks: (K, 2) landmarks with K = ``scheme.num_points``, finite coordinates, a finite
    non-degenerate box that overlaps the image (a box partly outside the image is kept;
    detector boxes of faces at the border are like that).
    """
    lm = np.asarray(rec.landmarks, np.float64)
    if lm.ndim != 2 or lm.shape != (scheme.num_points, 2):
        raise SkipRecord("wrong_point_count", rec.source_id, "landmarks",
                         f"shape {lm.shape}, scheme {scheme.name} needs ({scheme.num_points}, 2)")
    if not np.all(np.isfinite(lm)):
        bad = np.argwhere(~np.isfinite(lm))[0]
        raise SkipRecord("non_finite_landmarks", rec.source_id, f"landmarks[{bad[0]}]",
                         lm[bad[0]].tolist())
    box = np.asarray(rec.bbox, np.float64).reshape(-1)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise SkipRecord("bad_box", rec.source_id, "bbox", box.tolist())
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        raise SkipRecord("bad_box", rec.source_id, "bbox", box.tolist())
    if x2 <= 0 or y2 <= 0 or x1 >= rec.width or y1 >= rec.height:
        raise SkipRecord("box_outside_image", rec.source_id, "bbox",
                         f"{box.tolist()} in image {rec.width}x{rec.height}")
    if rec.scheme != scheme.name:
        raise SkipRecord("wrong_scheme", rec.source_id, "scheme", rec.scheme)
