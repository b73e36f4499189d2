"""awing-tf: Adaptive Wing Loss face alignment for TensorFlow / Keras 3."""
