"""TFRecord feature keys and the parse spec: the only place the schema is named.

One ``tf.train.Example`` per face:

=====================  ======  ==============================================================
key                    type    meaning
=====================  ======  ==============================================================
image/encoded          bytes   JPEG or PNG bytes of the whole source image
image/source_id        bytes   a stable id (relative path, plus ``#n`` for the n-th face)
image/height           int64   source image height in pixels
image/width            int64   source image width in pixels
landmarks/xy           float   K*2 values ``x0 y0 x1 y1 ...`` in source-image pixels
landmarks/visible      int64   K flags (1 visible / annotated reliably, 0 occluded or absent)
landmarks/scheme       bytes   scheme name, e.g. ``300w68``
bbox/xyxy              float   4 values ``x1 y1 x2 y2``: the face box in source-image pixels
attributes             int64   free-length flags (WFLW: pose, expression, illumination,
                               make-up, occlusion, blur); may be empty
=====================  ======  ==============================================================
"""

from __future__ import annotations

import tensorflow as tf

IMAGE_ENCODED = "image/encoded"
IMAGE_SOURCE_ID = "image/source_id"
IMAGE_HEIGHT = "image/height"
IMAGE_WIDTH = "image/width"
LANDMARKS_XY = "landmarks/xy"
LANDMARKS_VISIBLE = "landmarks/visible"
LANDMARKS_SCHEME = "landmarks/scheme"
BBOX_XYXY = "bbox/xyxy"
ATTRIBUTES = "attributes"


def parse_spec() -> dict[str, tf.io.FixedLenFeature | tf.io.VarLenFeature]:
    """The ``tf.io.parse_single_example`` spec for one face record."""
    return {
        IMAGE_ENCODED: tf.io.FixedLenFeature([], tf.string),
        IMAGE_SOURCE_ID: tf.io.FixedLenFeature([], tf.string, default_value=""),
        IMAGE_HEIGHT: tf.io.FixedLenFeature([], tf.int64),
        IMAGE_WIDTH: tf.io.FixedLenFeature([], tf.int64),
        LANDMARKS_XY: tf.io.VarLenFeature(tf.float32),
        LANDMARKS_VISIBLE: tf.io.VarLenFeature(tf.int64),
        LANDMARKS_SCHEME: tf.io.FixedLenFeature([], tf.string, default_value=""),
        BBOX_XYXY: tf.io.FixedLenFeature([4], tf.float32),
        ATTRIBUTES: tf.io.VarLenFeature(tf.int64),
    }


def parse_example(serialized: tf.Tensor, num_points: int) -> dict[str, tf.Tensor]:
    """Parses one serialized Example into dense tensors.

    Returns a dict with ``image_bytes`` (scalar string), ``source_id``, ``height``, ``width``
    (int32 scalars), ``landmarks`` (K, 2) float32, ``visible`` (K,) float32,
    ``bbox`` (4,) float32 and ``attributes`` (A,) int32.
    """
    f = tf.io.parse_single_example(serialized, parse_spec())
    xy = tf.sparse.to_dense(f[LANDMARKS_XY])
    xy = tf.ensure_shape(tf.reshape(xy, [num_points, 2]), [num_points, 2])
    visible = tf.sparse.to_dense(f[LANDMARKS_VISIBLE])
    visible = tf.cond(
        tf.size(visible) > 0,
        lambda: tf.cast(visible, tf.float32),
        lambda: tf.ones([num_points], tf.float32),
    )
    return {
        "image_bytes": f[IMAGE_ENCODED],
        "source_id": f[IMAGE_SOURCE_ID],
        "height": tf.cast(f[IMAGE_HEIGHT], tf.int32),
        "width": tf.cast(f[IMAGE_WIDTH], tf.int32),
        "landmarks": xy,
        "visible": tf.ensure_shape(tf.reshape(visible, [num_points]), [num_points]),
        "bbox": f[BBOX_XYXY],
        "attributes": tf.cast(tf.sparse.to_dense(f[ATTRIBUTES]), tf.int32),
    }
