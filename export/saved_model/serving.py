"""A FaceAligner as a SavedModel with pre- and post-processing inside the graph.

Two signatures, both needing only TensorFlow to run (no Keras, no project code):

* ``serving_default``: ``images`` ``(B, S, S, 3)`` uint8 face crops ->
  ``landmarks`` ``(B, K, 2)`` float32 in crop pixels, ``scores`` ``(B, K)`` (the peak
  heatmap values) and ``confidences`` ``(B, K)`` (the peaks calibrated to [0, 1]:
  ``awing_tf.inference.confidence``).
* ``align_image``: ``image`` ``(H, W, 3)`` uint8 of any size and ``box`` ``(4,)`` float32
  ``x1, y1, x2, y2`` -> ``landmarks`` ``(K, 2)`` float32 in the image's pixels, ``scores``
  ``(K,)`` and ``confidences`` ``(K,)``. The crop is the square of the box's longer side (times ``1 + margin``) centred on
  the box centre, warped to ``S x S`` bilinearly with ``ImageProjectiveTransformV3`` (pixel
  centres at integer coordinates, constant 0 outside the image: the training pipeline's
  convention); the crop landmarks are mapped back with the exact inverse affine.

Inputs ``align_image`` rejects, as ``export.runner.TFLiteLandmarker.align`` does (there a
``ValueError`` with the same words): a box with ``x2 <= x1`` or ``y2 <= y1`` (also a
zero-area box) raises ``InvalidArgumentError`` "box must have x2 > x1 and y2 > y1"; a box
that does not overlap ``0 .. W`` by ``0 .. H`` raises "box lies outside the image" (a box
partly outside is used, black beyond the edge). An image without exactly 3 channels (grey, RGBA)
raises "image must be (H, W, 3) uint8 RGB"; a float image is refused by the signature's
dtype before the graph runs (``InvalidArgumentError`` "... was expected to be a uint8 tensor
but is a float tensor"). Convert grey or RGBA images to RGB and float images to uint8
first.

Images are normalized to float32 [0, 1] in the graph; decoding is the model's own
(``FaceAligner.decode``: the last stack's landmark channels, ``awing_tf.codec``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import tensorflow as tf

from awing_tf.choices import DECODE_METHODS
from awing_tf.data.geometry import crop_matrix
from awing_tf.inference.confidence import TARGET_PEAK

if TYPE_CHECKING:
    from awing_tf.models.face_aligner import FaceAligner


def crop_affine(box: tf.Tensor, input_size: int,
                margin: float = 0.0) -> tuple[tf.Tensor, tf.Tensor]:
    """``(scale k, offset (2,))`` with ``crop = image * k + offset`` for a box ``(4,)``: the
    training crop (``awing_tf.data.geometry.crop_matrix``) written as scale and offset."""
    m = crop_matrix(tf.cast(tf.reshape(box, [4]), tf.float32), input_size, margin)
    return m[0, 0], tf.stack([m[0, 2], m[1, 2]])


def check_align_inputs(image: tf.Tensor, box: tf.Tensor) -> list[tf.Operation]:
    """Graph assertions of ``align_image``, checked in this order, each an
    ``InvalidArgumentError`` in the runner's words: "image must be (H, W, 3) uint8", "box
    must have x2 > x1 and y2 > y1", "box lies outside the image"."""
    shape = tf.shape(image)
    rgb = tf.logical_and(tf.equal(tf.size(shape), 3), tf.equal(shape[-1], 3))
    checks = [tf.debugging.Assert(rgb, ["image must be (H, W, 3) uint8 RGB, got shape", shape])]
    box = tf.cast(tf.reshape(box, [4]), tf.float32)
    ordered = tf.logical_and(box[2] > box[0], box[3] > box[1])
    with tf.control_dependencies(checks):
        checks.append(tf.debugging.Assert(ordered, ["box must have x2 > x1 and y2 > y1, got",
                                                    box]))
    size = tf.cast(shape[:2], tf.float32)
    inside = tf.logical_not(tf.reduce_any(tf.stack([
        box[2] <= 0.0, box[3] <= 0.0, box[0] >= size[1], box[1] >= size[0]])))
    with tf.control_dependencies(checks):
        checks.append(tf.debugging.Assert(inside, ["box lies outside the image; box and "
                                                   "image (H, W):", box, size]))
    return checks


def crop_face(image: tf.Tensor, box: tf.Tensor, input_size: int,
              margin: float = 0.0) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``image (H, W, 3)`` uint8 -> ``(crop (1, S, S, 3) float32 in [0, 1], k, offset (2,))``."""
    k, offset = crop_affine(box, input_size, margin)
    inv_k = 1.0 / k
    # ImageProjectiveTransformV3 takes the output -> input map: x = (x' - offset) / k
    transform = tf.stack([inv_k, 0.0, -offset[0] * inv_k, 0.0, inv_k, -offset[1] * inv_k,
                          0.0, 0.0])
    images = tf.cast(image, tf.float32)[None] * (1.0 / 255.0)
    crop = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transform[None],
        output_shape=tf.constant([input_size, input_size], tf.int32),
        fill_value=tf.constant(0.0), interpolation="BILINEAR", fill_mode="CONSTANT")
    return crop, k, offset


def make_endpoints(model: FaceAligner, decode: str = "quarter_offset", margin: float = 0.0,
                   flip_test: bool = False
                   ) -> dict[str, tuple[Callable[..., dict[str, tf.Tensor]], list[tf.TensorSpec]]]:
    """``{name: (fn, input_signature)}`` of the two serving functions of a float32 model:
    ``serving_default``: ``images (B, S, S, 3) uint8 -> {landmarks (B, K, 2) crop px,
    scores (B, K), confidences (B, K)}``; ``align_image``: ``image (H, W, 3) uint8, box (4,)
    float32 -> {landmarks (K, 2) image px, scores (K,), confidences (K,)}``."""
    size = model.model_config.input_size

    def confidence(scores):
        return tf.clip_by_value(scores * (1.0 / TARGET_PEAK), 0.0, 1.0)

    def serve(images):
        x = tf.cast(images, tf.float32) * (1.0 / 255.0)
        landmarks, scores = model.decode(x, decode, flip_test)
        return {"landmarks": landmarks, "scores": scores, "confidences": confidence(scores)}

    def align_image(image, box):
        with tf.control_dependencies(check_align_inputs(image, box)):
            image = tf.identity(image)
        crop, k, offset = crop_face(image, box, size, margin)
        landmarks, scores = model.decode(crop, decode, flip_test)
        return {"landmarks": (landmarks[0] - offset) / k, "scores": scores[0],
                "confidences": confidence(scores[0])}

    return {
        "serving_default": (serve, [tf.TensorSpec([None, size, size, 3], tf.uint8,
                                                  name="images")]),
        "align_image": (align_image, [tf.TensorSpec([None, None, 3], tf.uint8, name="image"),
                                      tf.TensorSpec([4], tf.float32, name="box")]),
    }


def export_saved_model(model: FaceAligner, output_dir: str, decode: str = "quarter_offset",
                       margin: float = 0.0, flip_test: bool = False) -> str:
    """Writes ``model`` (a FaceAligner) as a SavedModel with the two signatures above.

    Args:
      model: a ``FaceAligner``; exported in float32 whatever its dtype policy.
      output_dir: the SavedModel folder.
      decode: ``quarter_offset`` or ``subpixel`` (``codec.decode_heatmaps``).
      margin: crop enlargement fraction of ``align_image`` (the training ``crop_margin``).
      flip_test: average each crop's heatmaps with its mirror image's
        (``FaceAligner.heatmaps``) in both signatures.

    Returns:
      ``output_dir``.
    """
    import keras

    if decode not in DECODE_METHODS:
        raise ValueError(f"decode must be one of {DECODE_METHODS}, got {decode!r}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    model = model.to_float32()
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, signature) in make_endpoints(model, decode, margin, flip_test).items():
        archive.add_endpoint(name=name, fn=fn, input_signature=signature)
    archive.write_out(output_dir, verbose=False)
    return output_dir
