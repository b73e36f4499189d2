"""Imports ``awing_tf`` first, so its TensorFlow environment defaults (oneDNN kernels on)
apply before TensorFlow loads."""

import awing_tf  # noqa: F401
