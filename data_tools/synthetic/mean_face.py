"""Writes the synthetic generator's canonical 300W face as the library's 3D mean face.

    python -m data_tools.synthetic.mean_face --output=awing_tf/inference/mean_face_300w68.json

The library (``awing_tf.inference.head_pose``) must not import ``data_tools``, so the 68
canonical points of :func:`~data_tools.synthetic.templates.canonical_landmarks` (neutral
expression) are shipped as JSON; a test keeps the file equal to the generator's output.
"""

from __future__ import annotations

import json
import os

from absl import app, flags, logging

from data_tools.synthetic.templates import canonical_landmarks

SCHEME = "300w68"
FRAME = ("x to the image's right, y down, z a pseudo depth toward the viewer (a left-handed "
         "frame); one unit = half the face width; the neutral frontal face of the synthetic "
         "generator, before any pose")
SOURCE = ("data_tools.synthetic.templates.canonical_landmarks('300w68'): analytic feature "
          "curves of the synthetic face generator (plain geometry, not derived from any "
          "dataset); written by python -m data_tools.synthetic.mean_face")


def mean_face_document(scheme: str = SCHEME) -> dict:
    """The JSON document: header fields and ``points``, (K, 3) as nested lists of floats."""
    if scheme != SCHEME:
        raise ValueError(f"the shipped mean face is for scheme {SCHEME!r}, got {scheme!r}")
    pts = canonical_landmarks(scheme)
    return {"scheme": scheme, "num_points": int(pts.shape[0]), "frame": FRAME,
            "units": "half face widths (face-frame units)", "source": SOURCE,
            "points": [[float(v) for v in row] for row in pts]}


def write_mean_face(path: str, scheme: str = SCHEME) -> None:
    """Writes :func:`mean_face_document` to ``path`` (one point per line; floats round-trip
    exactly)."""
    doc = mean_face_document(scheme)
    points = doc.pop("points")
    head = json.dumps(doc, indent=2)[:-2]  # without the closing "\n}"
    rows = ",\n".join("    " + json.dumps(p) for p in points)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(f'{head},\n  "points": [\n{rows}\n  ]\n}}\n')


def main(argv: list[str]) -> None:
    """Writes the file named by ``--output``."""
    del argv
    write_mean_face(flags.FLAGS.output)
    logging.info("mean face written to %s", flags.FLAGS.output)


if __name__ == "__main__":
    flags.DEFINE_string("output", "awing_tf/inference/mean_face_300w68.json",
                        "Where to write the JSON file.")
    app.run(main)
