"""Procedural face-like images whose landmarks are exact by construction.

A canonical frontal face is described by analytic curves in a face frame (x right, y down,
one unit = half the face width; z = a pseudo depth toward the viewer): the jaw arc, the brow
bands, the eyelid curves, the nose bridge and nose bottom, and the outer and inner lip curves.
The curves are NOT derived from any dataset; they are plain geometry with expression
parameters (mouth opening, smile, brow raise, eye openness, gaze).

Every landmark of a scheme is one parameter value on one of those curves. The drawing uses
dense samplings of the same curves that include every landmark's parameter as a vertex, and
both go through one point-wise projection (yaw as a rotation about the vertical axis with an
orthographic projection: horizontal compression plus a shift of the features that stand out,
then in-plane rotation, scale and translation), so every landmark lies exactly on the drawn
feature. Schemes: ``300w68``, ``wflw98``, ``cofw29``; ``lsp14`` raises ``ValueError``.

Occluders (rectangles, ellipses) sometimes cover points: those get ``visible = 0`` with their
true coordinates kept; points outside the image are also ``visible = 0``.

Modules: :mod:`~data_tools.synthetic.geometry` (the curves, :class:`Pose`, :func:`project`),
:mod:`~data_tools.synthetic.templates` (the landmarks of each scheme on the curves),
:mod:`~data_tools.synthetic.drawing` (the face drawn with OpenCV),
:mod:`~data_tools.synthetic.render` (one random face in its scene),
:mod:`~data_tools.synthetic.generate` (records, TFRecord shards, a contact sheet).

    python -m data_tools.synthetic --num=1000 --scheme=300w68 --output=/tmp/synth \
        --image_size=256 --seed=0 [--num_shards=4] [--split=train=0.9,val=0.1]
"""

from data_tools.synthetic.drawing import draw_face
from data_tools.synthetic.generate import contact_sheet, generate_records, write_synthetic
from data_tools.synthetic.geometry import Expression, FaceGeometry, Pose, project
from data_tools.synthetic.render import detector_box, random_expression, random_pose, render_face
from data_tools.synthetic.templates import (
    SUPPORTED_SCHEMES,
    TEMPLATES,
    canonical_landmarks,
    template_300w,
    template_cofw,
    template_wflw,
)

__all__ = [
    "SUPPORTED_SCHEMES",
    "TEMPLATES",
    "Expression",
    "FaceGeometry",
    "Pose",
    "canonical_landmarks",
    "contact_sheet",
    "detector_box",
    "draw_face",
    "generate_records",
    "project",
    "random_expression",
    "random_pose",
    "render_face",
    "template_300w",
    "template_cofw",
    "template_wflw",
    "write_synthetic",
]
