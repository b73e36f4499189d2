"""Landmark schemes as data: point count, flip permutation, boundary curves, normalizers.

A scheme says everything the library needs to know about one landmark layout:

* ``num_points``: K.
* ``flip_permutation``: length-K index list ``p`` such that after mirroring an image
  horizontally, the new landmark ``i`` is the old landmark ``p[i]`` (mirrored). It is an
  involution (``p[p[i]] == i``).
* ``boundary_curves``: ordered index lists; each is drawn as a polyline through those points
  to make the single boundary heatmap channel (paper Sec. 5).
* ``normalizers``: named index pairs ``(a, b)`` whose distance normalizes the NME. Each side
  is a tuple of indices whose mean is the point (so an eye centre is the mean of six points).
* ``default_crop_margin``: how much the square face box is enlarged for the crop (WFLW 0.1).
* ``attribute_names``: the per-face attribute flags of the layout's dataset (WFLW: pose,
  expression, illumination, make-up, occlusion, blur), for per-attribute evaluation.

"Left"/"right" in comments are image-left/image-right for a frontal face.
"""

from __future__ import annotations

import dataclasses

IndexGroup = tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class LandmarkScheme:
    """One landmark layout. See the module docstring for the meaning of each field."""

    name: str
    num_points: int
    flip_permutation: tuple[int, ...]
    boundary_curves: tuple[tuple[int, ...], ...]
    normalizers: dict[str, tuple[IndexGroup, IndexGroup]]
    default_normalizer: str
    groups: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    # the crop enlargement this layout's boxes want (WFLW: 10 %, paper Sec. 7.1)
    default_crop_margin: float = 0.0
    # names of the per-face attribute flags the datasets of this layout carry (WFLW's six)
    attribute_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        k = self.num_points
        perm = self.flip_permutation
        if len(perm) != k or sorted(perm) != list(range(k)):
            raise ValueError(
                f"scheme {self.name!r}: flip_permutation must be a permutation of range({k}), "
                f"got {perm!r}"
            )
        for curve in self.boundary_curves:
            if len(curve) < 2 or any(not 0 <= i < k for i in curve):
                raise ValueError(f"scheme {self.name!r}: bad boundary curve {curve!r}")
        if self.default_normalizer not in self.normalizers:
            raise ValueError(
                f"scheme {self.name!r}: default_normalizer {self.default_normalizer!r} "
                f"is not one of {sorted(self.normalizers)}"
            )

    def boundary_segments(self) -> tuple[tuple[int, int], ...]:
        """All consecutive index pairs of every boundary curve: ((start, end), ...)."""
        return tuple(
            (curve[i], curve[i + 1]) for curve in self.boundary_curves for i in range(len(curve) - 1)
        )

    def normalizer_indices(self, kind: str | None = None) -> tuple[IndexGroup, IndexGroup]:
        """Index groups for the named normalizer (``inter_ocular``, ``inter_pupil``, ...)."""
        kind = kind or self.default_normalizer
        if kind not in self.normalizers:
            raise ValueError(
                f"normalizer {kind!r} is not defined for scheme {self.name!r}; "
                f"choose one of {sorted(self.normalizers)}"
            )
        return self.normalizers[kind]


def _perm_from_pairs(k: int, pairs: list[tuple[int, int]]) -> tuple[int, ...]:
    perm = list(range(k))
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return tuple(perm)


def _r(a: int, b: int) -> tuple[int, ...]:
    """Inclusive index range a..b."""
    return tuple(range(a, b + 1))


# --- 300W / iBUG 68 points -------------------------------------------------------------------
_300W_PAIRS = (
    [(i, 16 - i) for i in range(8)]  # jaw
    + [(17 + i, 26 - i) for i in range(5)]  # brows
    + [(31, 35), (32, 34)]  # nostrils
    + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    + [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lips
    + [(60, 64), (61, 63), (65, 67)]  # inner lips
)
W300_68 = LandmarkScheme(
    name="300w68",
    num_points=68,
    flip_permutation=_perm_from_pairs(68, _300W_PAIRS),
    boundary_curves=(
        _r(0, 16),  # jaw / cheek
        _r(17, 21),  # left brow
        _r(22, 26),  # right brow
        _r(27, 30),  # nose bridge
        _r(31, 35),  # nose bottom
        (36, 37, 38, 39),  # left upper eyelid
        (39, 40, 41, 36),  # left lower eyelid
        (42, 43, 44, 45),  # right upper eyelid
        (45, 46, 47, 42),  # right lower eyelid
        _r(48, 54),  # upper outer lip
        (54, 55, 56, 57, 58, 59, 48),  # lower outer lip
        _r(60, 64),  # upper inner lip
        (64, 65, 66, 67, 60),  # lower inner lip
    ),
    normalizers={
        "inter_ocular": ((36,), (45,)),
        "inter_pupil": (_r(36, 41), _r(42, 47)),
    },
    default_normalizer="inter_ocular",
    groups={"left_eye": _r(36, 41), "right_eye": _r(42, 47), "jaw": _r(0, 16)},
)

# --- WFLW 98 points --------------------------------------------------------------------------
_WFLW_PAIRS = (
    [(i, 32 - i) for i in range(16)]  # jaw
    + [(33, 46), (34, 45), (35, 44), (36, 43), (37, 42), (38, 50), (39, 49), (40, 48), (41, 47)]
    + [(55, 59), (56, 58)]  # nose bottom
    + [(60, 72), (61, 71), (62, 70), (63, 69), (64, 68), (65, 75), (66, 74), (67, 73)]  # eyes
    + [(76, 82), (77, 81), (78, 80), (83, 87), (84, 86)]  # outer lips
    + [(88, 92), (89, 91), (93, 95)]  # inner lips
    + [(96, 97)]  # pupils
)
WFLW_98 = LandmarkScheme(
    name="wflw98",
    num_points=98,
    flip_permutation=_perm_from_pairs(98, _WFLW_PAIRS),
    boundary_curves=(
        _r(0, 32),  # jaw / cheek
        _r(33, 41) + (33,),  # left brow (closed)
        _r(42, 50) + (42,),  # right brow (closed)
        _r(51, 54),  # nose bridge
        _r(55, 59),  # nose bottom
        _r(60, 64),  # left upper eyelid
        (64, 65, 66, 67, 60),  # left lower eyelid
        _r(68, 72),  # right upper eyelid
        (72, 73, 74, 75, 68),  # right lower eyelid
        _r(76, 82),  # upper outer lip
        (82, 83, 84, 85, 86, 87, 76),  # lower outer lip
        _r(88, 92),  # upper inner lip
        (92, 93, 94, 95, 88),  # lower inner lip
    ),
    normalizers={"inter_ocular": ((60,), (72,)), "inter_pupil": ((96,), (97,))},
    default_normalizer="inter_ocular",
    groups={"left_eye": _r(60, 67) + (96,), "right_eye": _r(68, 75) + (97,), "jaw": _r(0, 32)},
    default_crop_margin=0.1,
    attribute_names=("pose", "expression", "illumination", "make_up", "occlusion", "blur"),
)

# --- COFW / LFPW 29 points -------------------------------------------------------------------
# 0/1 brow outer, 2/3 brow inner, 4,5 / 6,7 brow top/bottom middle, 8/9 eye outer corners,
# 10/11 eye inner corners, 12,13 / 14,15 eyelid top/bottom, 16/17 pupils, 18/19 nose wings,
# 20 nose tip, 21 nose bottom, 22/23 mouth corners, 24..27 lip midline top->bottom, 28 chin.
_COFW_PAIRS = [(0, 1), (2, 3), (4, 6), (5, 7), (8, 9), (10, 11), (12, 14), (13, 15), (16, 17),
               (18, 19), (22, 23)]
COFW_29 = LandmarkScheme(
    name="cofw29",
    num_points=29,
    flip_permutation=_perm_from_pairs(29, _COFW_PAIRS),
    boundary_curves=(
        (0, 4, 2, 5, 0),  # left brow (closed)
        (1, 6, 3, 7, 1),  # right brow (closed)
        (8, 12, 10),  # left upper eyelid
        (10, 13, 8),  # left lower eyelid
        (9, 14, 11),  # right upper eyelid
        (11, 15, 9),  # right lower eyelid
        (20, 21),  # nose tip to bottom
        (18, 21, 19),  # nose bottom
        (22, 24, 23),  # upper outer lip
        (22, 25, 23),  # upper inner lip
        (22, 26, 23),  # lower inner lip
        (22, 27, 23),  # lower outer lip
    ),
    normalizers={"inter_pupil": ((16,), (17,)), "inter_ocular": ((8,), (9,))},
    default_normalizer="inter_pupil",
    groups={"left_eye": (8, 10, 12, 13, 16), "right_eye": (9, 11, 14, 15, 17)},
)

# --- LSP 14 body joints ----------------------------------------------------------------------
# 0 r-ankle 1 r-knee 2 r-hip 3 l-hip 4 l-knee 5 l-ankle 6 r-wrist 7 r-elbow 8 r-shoulder
# 9 l-shoulder 10 l-elbow 11 l-wrist 12 neck 13 head top ("r"/"l" are the person's sides).
LSP_14 = LandmarkScheme(
    name="lsp14",
    num_points=14,
    flip_permutation=_perm_from_pairs(14, [(0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9)]),
    boundary_curves=(
        (0, 1, 2),  # right leg
        (5, 4, 3),  # left leg
        (6, 7, 8),  # right arm
        (11, 10, 9),  # left arm
        (8, 9),  # shoulders
        (2, 3),  # hips
        (8, 2),  # right torso side
        (9, 3),  # left torso side
        (12, 13),  # neck to head top
    ),
    normalizers={"torso": ((9,), (2,))},
    default_normalizer="torso",
    groups={
        "ankle": (0, 5), "knee": (1, 4), "hip": (2, 3), "wrist": (6, 11), "elbow": (7, 10),
        "shoulder": (8, 9), "head": (12, 13),
    },
)

SCHEMES: dict[str, LandmarkScheme] = {s.name: s for s in (W300_68, WFLW_98, COFW_29, LSP_14)}


def get_scheme(scheme: str | LandmarkScheme) -> LandmarkScheme:
    """Returns the scheme named ``scheme`` (``300w68``, ``wflw98``, ``cofw29``, ``lsp14``)."""
    if isinstance(scheme, LandmarkScheme):
        return scheme
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be a name or a LandmarkScheme, got {type(scheme).__name__}")
    try:
        return SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unknown scheme {scheme!r}; known: {sorted(SCHEMES)}") from None


def register_scheme(scheme: LandmarkScheme) -> LandmarkScheme:
    """Adds a user scheme (e.g. from ``convert_generic``'s scheme file) to the registry."""
    SCHEMES[scheme.name] = scheme
    return scheme
