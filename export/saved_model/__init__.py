"""SavedModel export of a FaceAligner, crop and decode inside the graph.

* ``serving``: ``export_saved_model``, its two signatures (``make_endpoints``) and the
  in-graph face crop (``crop_face``, ``crop_affine``);
* ``python -m export.saved_model``: the command line (``__main__``).

Names load on first use (``export.lazy_names``).
"""

from __future__ import annotations

from export.lazy_names import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {
    "export.saved_model.serving": ["crop_affine", "crop_face", "export_saved_model",
                                   "make_endpoints"],
})
