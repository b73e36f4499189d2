"""Quantization-aware fine-tuning: fake-quantized activations in Keras 3, before full int8.

A trained pre-activation model (``paper``, ``compact``) was never trained with int8's
rounding noise and loses more than a NME point in post-training int8 (BUILD_NOTES.md,
Export); fine-tuning it with that noise closes the gap. (TensorFlow Model Optimization's
quantization-aware training supports only tf.keras 2 models, not Keras 3.)

* ``fake_quant``: which layer outputs int8 rounds, their ranges, and rounding them;
* ``fine_tuning``: the training run (BatchNorm frozen) on top of it;
* ``python -m export.qat``: the command line (``__main__``).

Names load on first use (``export.lazy_names``).
"""

from __future__ import annotations

from export.lazy_names import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {
    "export.qat.fake_quant": ["FAKE_QUANT_LAYER_TYPES", "NUM_BITS", "OPAQUE_LAYER_TYPES",
                              "Ranges", "fake_quant_layers", "fake_quantized",
                              "measure_output_ranges", "range_keys"],
    "export.qat.fine_tuning": ["config_for_model", "finetune", "frozen_batch_norm"],
})
