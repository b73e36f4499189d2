"""CoordConv with x, y, radius channels and boundary-masked coordinates (paper Sec. 6)."""

from __future__ import annotations

import keras
import tensorflow as tf

from awing_tf.layers.arguments import check_int


def coordinate_channels(
    batch: tf.Tensor, height: tf.Tensor, width: tf.Tensor, dtype: tf.DType = tf.float32
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """x, y in [-1, 1] and radius in [0, 1], each ``(B, H, W, 1)``.

    ``x`` runs left to right over the columns, ``y`` top to bottom over the rows; the radius
    ``sqrt(x^2 + y^2)`` is divided by its maximum ``sqrt(2)``.
    """
    xs = tf.linspace(-1.0, 1.0, width)
    ys = tf.linspace(-1.0, 1.0, height)
    yy, xx = tf.meshgrid(ys, xs, indexing="ij")  # (H, W)
    rr = tf.sqrt(xx * xx + yy * yy) / tf.sqrt(2.0)
    coords = tf.stack([xx, yy, rr], axis=-1)[None]  # (1, H, W, 3)
    coords = tf.tile(tf.cast(coords, dtype), [batch, 1, 1, 1])
    return coords[..., 0:1], coords[..., 1:2], coords[..., 2:3]


@keras.saving.register_keras_serializable(package="awing_tf")
class CoordConv(keras.layers.Layer):
    """Appends coordinate channels to the input, then applies a Conv2D.

    Inputs: ``x`` of shape ``(B, H, W, C)``, or ``[x, boundary]`` when ``with_boundary`` with
    ``boundary`` of shape ``(B, H, W, 1)`` (the previous stack's boundary heatmap). Appended
    channels: x, y (and radius if ``with_r``) from the runtime shape; with a boundary input
    also ``B_x = x where clip(boundary, 0, 1) >= threshold else 0`` and likewise ``B_y``
    (paper eq. 6, threshold 0.05). Output: ``(B, H', W', filters)``.

    ``conv`` holds the kernel over all ``C + extra`` channels, but the layer convolves the
    input and the coordinate channels separately and adds the two: the same result, and the
    coordinate term is a constant that TFLite and SavedModel exports fold (no full-resolution
    concatenation in the mobile graph's stem).
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int = 1,
        strides: int = 1,
        with_r: bool = True,
        with_boundary: bool = False,
        boundary_threshold: float = 0.05,
        use_bias: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters)
        self.kernel_size = kernel_size
        self.strides = strides
        self.with_r = with_r
        self.with_boundary = with_boundary
        self.boundary_threshold = boundary_threshold
        self.use_bias = use_bias
        self.conv = keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding="same", use_bias=use_bias,
            dtype=self.dtype_policy, name="conv",
        )

    def _extra_channels(self) -> int:
        return 2 + int(self.with_r) + 2 * int(self.with_boundary)

    def build(self, input_shape) -> None:
        x_shape = input_shape[0] if self.with_boundary else input_shape
        in_shape = tuple(x_shape[:-1]) + (x_shape[-1] + self._extra_channels(),)
        self.conv.build(in_shape)

    def call(self, inputs):
        if self.with_boundary:
            x, boundary = inputs
        else:
            x, boundary = inputs, None
        channels = x.shape[-1]
        kernel = tf.cast(self.conv.kernel, x.dtype)  # (k, k, C + extra, filters)
        shape = tf.shape(x)
        xx, yy, rr = coordinate_channels(1, shape[1], shape[2], x.dtype)  # (1, H, W, 1) each
        coords = [xx, yy] + ([rr] if self.with_r else [])
        n = len(coords)
        # The convolution is linear in its input channels (zero padding included), so
        # conv(concat(x, coords)) = conv(x) + conv(coords): the second term does not depend
        # on the input. It is computed at batch size 1 and broadcast; an exported graph
        # folds it (and the bias) into one constant, so no coordinate channel is ever
        # concatenated at run time.
        offset = self._conv(tf.concat(coords, axis=-1), kernel[:, :, channels:channels + n])
        if self.use_bias:
            offset = offset + tf.cast(self.conv.bias, x.dtype)
        y = self._conv(x, kernel[:, :, :channels]) + offset
        if boundary is not None:
            b = tf.clip_by_value(tf.cast(boundary, x.dtype), 0.0, 1.0)
            mask = b >= tf.cast(self.boundary_threshold, x.dtype)  # (B, H, W, 1)
            zeros = tf.zeros_like(xx)
            masked = tf.concat([tf.where(mask, xx, zeros), tf.where(mask, yy, zeros)], -1)
            y = y + self._conv(masked, kernel[:, :, channels + n:])
        return y

    def _conv(self, x, kernel):
        """``x (B, H, W, C)`` convolved like ``self.conv`` (same stride and padding) with
        ``kernel (k, k, C, filters)``. A 1x1 kernel over a few channels is written as a sum
        of per-channel products, which the TFLite converter folds when ``x`` is constant
        (it does not fold a constant 1x1 CONV_2D)."""
        if self.kernel_size == 1 and self.strides == 1 and x.shape[-1] is not None \
                and x.shape[-1] <= 3:
            out = x[..., :1] * kernel[0, 0, 0]
            for i in range(1, x.shape[-1]):
                out = out + x[..., i:i + 1] * kernel[0, 0, i]
            return out
        return tf.nn.conv2d(x, kernel, strides=self.strides, padding="SAME")

    def compute_output_shape(self, input_shape):
        x_shape = input_shape[0] if self.with_boundary else input_shape
        in_shape = tuple(x_shape[:-1]) + (x_shape[-1] + self._extra_channels(),)
        return self.conv.compute_output_shape(in_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
            with_r=self.with_r, with_boundary=self.with_boundary,
            boundary_threshold=self.boundary_threshold, use_bias=self.use_bias,
        )
        return config
