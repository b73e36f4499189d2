"""Scheme templates: every landmark of a scheme as one parameter value on one feature curve.

A template maps a :class:`~data_tools.synthetic.geometry.FaceGeometry` to the (K, 3)
canonical points of one scheme, in the scheme's landmark order (``awing_tf.schemes``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from awing_tf.schemes import get_scheme
from data_tools.synthetic.geometry import Expression, FaceGeometry, evenly, params

SUPPORTED_SCHEMES = ("300w68", "wflw98", "cofw29")


def _nose(g: FaceGeometry) -> list[np.ndarray]:
    """300W / WFLW nose: 4 bridge points from between the eyes to the tip, then 5 along the
    bottom from the image-left wing to the image-right wing."""
    return [g.nose_bridge(evenly(4)), g.nose_bottom(evenly(5))]


def _eyes(g: FaceGeometry, lid: np.ndarray) -> list[np.ndarray]:
    """300W / WFLW eyes, image-left then image-right, each clockwise in the image from its
    left corner: the corner, the upper lid at ``lid``, the other corner, the lower lid."""
    outer, inner = params(0.0), params(1.0)
    return [
        g.eyelid_upper(-1, outer), g.eyelid_upper(-1, lid), g.eyelid_upper(-1, inner),
        g.eyelid_lower(-1, lid[::-1]),
        g.eyelid_upper(1, inner), g.eyelid_upper(1, lid[::-1]), g.eyelid_upper(1, outer),
        g.eyelid_lower(1, lid),
    ]


def _mouth(g: FaceGeometry) -> list[np.ndarray]:
    """300W / WFLW mouth: the outer lip contour (7 upper points from the image-left corner,
    5 lower ones back), then the inner one (5 upper, 3 lower)."""
    return [
        g.lip_outer_upper(evenly(7)), g.lip_outer_lower(evenly(7)[1:-1][::-1]),
        g.lip_inner_upper(evenly(5)), g.lip_inner_lower(evenly(5)[1:-1][::-1]),
    ]


def template_300w(g: FaceGeometry) -> np.ndarray:
    """(68, 3) canonical 300W points."""
    parts = [
        g.jaw(evenly(17)),
        g.brow(-1, evenly(5)), g.brow(1, evenly(5)[::-1]),
        *_nose(g), *_eyes(g, params(1 / 3, 2 / 3)), *_mouth(g),
    ]
    return np.concatenate(parts)


def template_wflw(g: FaceGeometry) -> np.ndarray:
    """(98, 3) canonical WFLW points."""
    fifths = params(0.8, 0.6, 0.4, 0.2)
    parts = [
        g.jaw(evenly(33)),
        g.brow_top(-1, evenly(5)), g.brow_bottom(-1, fifths),
        g.brow_top(1, evenly(5)[::-1]), g.brow_bottom(1, fifths[::-1]),
        *_nose(g), *_eyes(g, params(0.25, 0.5, 0.75)), *_mouth(g),
        g.iris_center(-1), g.iris_center(1),
    ]
    return np.concatenate(parts)


def template_cofw(g: FaceGeometry) -> np.ndarray:
    """(29, 3) canonical COFW points (order in ``awing_tf.schemes``)."""
    h = params(0.5)
    parts = [
        g.brow(-1, params(0.0)), g.brow(1, params(0.0)),
        g.brow(-1, params(1.0)), g.brow(1, params(1.0)),
        g.brow_top(-1, h), g.brow_bottom(-1, h), g.brow_top(1, h), g.brow_bottom(1, h),
        g.eyelid_upper(-1, params(0.0)), g.eyelid_upper(1, params(0.0)),
        g.eyelid_upper(-1, params(1.0)), g.eyelid_upper(1, params(1.0)),
        g.eyelid_upper(-1, h), g.eyelid_lower(-1, h), g.eyelid_upper(1, h), g.eyelid_lower(1, h),
        g.iris_center(-1), g.iris_center(1),
        g.nose_bottom(params(0.0)), g.nose_bottom(params(1.0)), g.nose_bridge(params(1.0)),
        g.nose_bottom(h),
        g.lip_outer_upper(params(0.0)), g.lip_outer_upper(params(1.0)),
        g.lip_outer_upper(h), g.lip_inner_upper(h), g.lip_inner_lower(h), g.lip_outer_lower(h),
        g.jaw(h),
    ]
    return np.concatenate(parts)


TEMPLATES: dict[str, Callable[[FaceGeometry], np.ndarray]] = {
    "300w68": template_300w, "wflw98": template_wflw, "cofw29": template_cofw}


def canonical_landmarks(scheme: str, expr: Expression | None = None) -> np.ndarray:
    """(K, 3) canonical points of ``scheme`` for ``expr`` (neutral when None)."""
    if scheme not in TEMPLATES:
        raise ValueError(
            f"synthetic faces support schemes {SUPPORTED_SCHEMES}, got {scheme!r} "
            "(lsp14 is a body-joint layout: there is no synthetic generator for it)")
    pts = TEMPLATES[scheme](FaceGeometry(expr or Expression()))
    k = get_scheme(scheme).num_points
    if pts.shape != (k, 3):
        raise RuntimeError(f"template {scheme} built {pts.shape}, expected ({k}, 3)")
    return pts
