"""TFLite conversion of a FaceAligner: float32, float16, dynamic-range and full int8.

The converted graph maps a ``(1, S, S, 3)`` float32 crop in [0, 1] to the LAST stack's
landmark heatmaps ``(1, h, w, K)`` float32 (the boundary channel and the earlier stacks are
dropped); decoding to landmarks happens outside, in ``export.runner``.

* ``conversion``: ``convert``, ``configure``, ``heatmap_function``, ``heatmap_converter``;
* ``selective``: int8 with chosen tensors, ops or Keras layers kept float;
* ``sensitivity``: per-tensor int8 error, most sensitive first;
* ``export.representative``: the calibration crops;
* ``python -m export.tflite``: the command line (``__main__``).

Names load on first use (``export.lazy_names``).
"""

from __future__ import annotations

from export.lazy_names import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {
    "awing_tf.choices": ["QUANT_TYPES"],
    "export.representative": ["RepresentativeDataset", "as_representative_dataset",
                              "representative_crops"],
    "export.tflite.conversion": ["configure", "convert", "heatmap_converter",
                                 "heatmap_function"],
    "export.tflite.selective": ["check_float_layers", "layer_tensor_names", "selective_int8"],
    "export.tflite.sensitivity": ["layer_sensitivity"],
})
