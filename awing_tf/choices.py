"""The names command-line flags choose from, without importing TensorFlow.

The CLIs define their flags from these lists before anything heavy is imported, so
``--help`` and a usage error answer at once; the library modules that implement each choice
import the same tuples, so the two never drift apart.
"""

from __future__ import annotations

DECODE_METHODS = ("quarter_offset", "subpixel")
NORMALIZERS = ("inter_ocular", "inter_pupil", "box", "torso")
LOSS_NAMES = ("awing", "awing_nomap", "awing_wmbase", "mse", "mse_map", "wing")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
QUANT_TYPES = ("float32", "float16", "dynamic", "int8")
VERBOSITY = ("auto", "0", "1", "2")
FACE_DETECTORS = ("blazeface", "blazeface_full", "haar")

# how video landmarks are smoothed over time (awing_tf.inference.one_euro)
SMOOTHING = ("one_euro", "none")
