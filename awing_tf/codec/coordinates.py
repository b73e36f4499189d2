"""The one coordinate convention between input pixels and heatmap pixels.

Landmarks are ``(x, y)`` with pixel centres at integer coordinates. With
``s = heatmap_size / input_size``::

    x_h = (x + 0.5) * s - 0.5          (input -> heatmap)
    x   = (x_h + 0.5) / s - 0.5        (heatmap -> input)

so the outer pixel edges of the two frames coincide (input -0.5 <-> heatmap -0.5).
"""

from __future__ import annotations

import tensorflow as tf


def to_heatmap_coords(xy: tf.Tensor, *, input_size: int, heatmap_size: int) -> tf.Tensor:
    """Input-pixel coordinates ``(..., 2)`` -> heatmap-pixel coordinates ``(..., 2)``."""
    s = float(heatmap_size) / float(input_size)
    return (tf.convert_to_tensor(xy, tf.float32) + 0.5) * s - 0.5


def to_input_coords(xy_h: tf.Tensor, *, input_size: int, heatmap_size: int) -> tf.Tensor:
    """Heatmap-pixel coordinates ``(..., 2)`` -> input-pixel coordinates ``(..., 2)``."""
    s = float(heatmap_size) / float(input_size)
    return (tf.convert_to_tensor(xy_h, tf.float32) + 0.5) / s - 0.5
