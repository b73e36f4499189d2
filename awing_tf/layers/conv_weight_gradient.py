"""A 3x3, stride-1, SAME convolution whose weight gradient is one matrix product.

With oneDNN on, TensorFlow runs the weight gradient of a 3x3 convolution
(``Conv2DBackpropFilter``) on NHWC activations with a oneDNN kernel (``jit:avx2``) that reaches a
third of the speed of the forward convolution on an AVX2 CPU (35-55 against 120-140 GFLOP/s
on two cores, ``bench/conv_weight_gradient.py``); in a ``paper`` training step it is the
largest single cost. The same gradient is a matrix product,

    dW[i, j, c, o] = sum over (b, y, x) of  x[b, y + i - 1, x + j - 1, c] * dy[b, y, x, o]
                   = (X^T @ P)[c, (2 - i, 2 - j, o)],

with ``X = x`` as a ``(B*H*W, C_in)`` matrix and ``P`` the 3x3 patches of ``dy``,
``(B*H*W, 9*C_out)`` (``tf.image.extract_patches``; the patch offsets run opposite to the
kernel's, hence ``2 - i``). oneDNN's matrix product runs at 75-100 GFLOP/s there, which makes
the weight gradient 1.4-2.0x faster for the large layers (64 x 64 maps with 128 or more input
channels, 128 x 128 maps with 64 or more) and slower for the small ones, so
:func:`gemm_weight_gradient_pays` picks by layer size. Without oneDNN (TensorFlow's default
on CPUs without AVX-512) the product is slower than Eigen's own weight gradient at nearly every size,
and nothing changes. The forward pass and the input gradient are TensorFlow's own ops either way.
"""

from __future__ import annotations

import functools

import tensorflow as tf

MODES = ("auto", "native")
_mode = "auto"


def set_weight_gradient(mode: str) -> None:
    """``auto``: layers that :func:`gemm_weight_gradient_pays` for compute their weight
    gradient as a matrix product; ``native``: always ``Conv2DBackpropFilter``. Takes effect
    for steps traced afterwards."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"weight gradient mode must be one of {MODES}, got {mode!r}")
    _mode = mode


@functools.cache
def onednn_enabled() -> bool:
    """Whether this TensorFlow runs its oneDNN kernels (``TF_ENABLE_ONEDNN_OPTS``, or the
    default on CPUs with AVX-512-class features); fixed once TensorFlow has loaded."""
    from awing_tf import compat

    return compat.onednn_enabled()


def gemm_weight_gradient_pays(height: int | None, width: int | None, in_channels: int,
                              out_channels: int) -> bool:
    """Whether the matrix-product weight gradient is faster for a 3x3 layer on
    ``(height, width, in_channels)`` maps: with oneDNN on, for maps of at least 64 x 64 with
    128 or more input channels and at least 128 x 128 with 64 or more, each with 32 or more
    output channels (measured at batch 8; larger batches favour the product further)."""
    if _mode != "auto" or not onednn_enabled() or height is None or width is None:
        return False
    pixels = height * width
    if out_channels < 32:
        return False
    return (pixels >= 64 * 64 and in_channels >= 128) or (pixels >= 128 * 128
                                                         and in_channels >= 64)


def weight_gradient_by_gemm(x: tf.Tensor, dy: tf.Tensor) -> tf.Tensor:
    """Gradient of ``sum(conv2d(x, W, SAME) * dy)`` with respect to a 3x3 ``W``.

    x: ``(B, H, W, C_in)``, dy: ``(B, H, W, C_out)``, same dtype. Returns
    ``(3, 3, C_in, C_out)``, the layout of ``tf.nn.conv2d``'s filter.
    """
    c_in, c_out = x.shape[-1], dy.shape[-1]
    patches = tf.image.extract_patches(dy, sizes=[1, 3, 3, 1], strides=[1, 1, 1, 1],
                                       rates=[1, 1, 1, 1], padding="SAME")
    product = tf.matmul(tf.reshape(x, [-1, c_in]), tf.reshape(patches, [-1, 9 * c_out]),
                        transpose_a=True)  # (C_in, 9 * C_out), patch offsets (p, q, o)
    product = tf.reshape(product, [c_in, 3, 3, c_out])[:, ::-1, ::-1, :]
    return tf.transpose(product, [1, 2, 0, 3])


@tf.custom_gradient
def conv3x3_gemm_weight_gradient(x: tf.Tensor, kernel: tf.Tensor):
    """``tf.nn.conv2d(x, kernel, strides=1, padding="SAME")`` for a ``(3, 3, C_in, C_out)``
    kernel, whose gradient with respect to ``kernel`` is :func:`weight_gradient_by_gemm`.

    x: ``(B, H, W, C_in)``. Returns ``(B, H, W, C_out)``.
    """
    y = tf.nn.conv2d(x, kernel, strides=1, padding="SAME")

    def grad(dy):
        dx = tf.raw_ops.Conv2DBackpropInput(
            input_sizes=tf.shape(x), filter=kernel, out_backprop=dy, strides=[1, 1, 1, 1],
            padding="SAME")
        return dx, weight_gradient_by_gemm(x, dy)

    return y, grad
