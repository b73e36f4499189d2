"""Deployment of a trained FaceAligner: SavedModel, TFLite, int8 and the on-device runner.

* ``export.saved_model``: a SavedModel with crop and decode inside the graph;
* ``export.tflite``: ``.tflite`` heatmap models, float32 to full int8;
* ``export.calibration``: int8 activation ranges measured on the float graph's tensors;
* ``export.representative``: the crops int8 ranges are measured on;
* ``export.qat``: quantization-aware fine-tuning before full int8;
* ``export.runner``: a ``.tflite`` model on a photo, NumPy and OpenCV only.

``saved_model``, ``tflite`` and ``qat`` are also command lines (``python -m export.<name>``).
"""
