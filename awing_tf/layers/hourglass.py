"""The recursive Hourglass module (Newell et al.) built of ConvBlocks."""

from __future__ import annotations

import keras

from awing_tf.layers.arguments import check_int
from awing_tf.layers.conv_block import ConvBlock, with_current_names
from awing_tf.layers.pooling import AveragePooling2x2
from awing_tf.layers.upsampling import NearestUpsampling2x


@keras.saving.register_keras_serializable(package="awing_tf")
class Hourglass(keras.layers.Layer):
    """Recursive hourglass (Newell et al.) with ConvBlocks, average-pool down, nearest up.

    At each of ``depth`` levels: an upper branch ``ConvBlock`` at full resolution and a lower
    branch ``avgpool2 -> ConvBlock -> (next level | ConvBlock) -> ConvBlock -> upsample2``;
    the two are added. Input ``(B, H, W, filters)`` with H, W divisible by ``2**depth``;
    output has the same shape.
    """

    def __init__(self, filters: int, depth: int = 4, separable: bool = False,
                 sync_batch_norm: bool = False, post_activation: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.depth = check_int("depth", depth)
        self.separable = separable
        self.sync_batch_norm = sync_batch_norm
        self.post_activation = post_activation
        policy = self.dtype_policy

        def block(name: str) -> ConvBlock:
            return ConvBlock(filters, separable=separable, sync_batch_norm=sync_batch_norm,
                             post_activation=post_activation, name=name,
                             dtype=policy)

        self.up = [block(f"b1_{lvl}") for lvl in range(depth)]
        self.low1 = [block(f"b2_{lvl}") for lvl in range(depth)]
        self.low3 = [block(f"b3_{lvl}") for lvl in range(depth)]
        self.bottom = block("b2_plus")
        self.pool = AveragePooling2x2(dtype=policy)
        self.upsample = NearestUpsampling2x(dtype=policy)
        self.add = keras.layers.Add(dtype=policy)

    def build(self, input_shape) -> None:
        b, h, w, c = input_shape
        for lvl in range(self.depth):
            full = (b, h, w, c)
            half = (b, None if h is None else h // 2, None if w is None else w // 2, c)
            self.up[lvl].build(full)
            self.low1[lvl].build(half)
            self.low3[lvl].build(half)
            h, w = half[1], half[2]
        self.bottom.build((b, h, w, c))

    def _level(self, x, lvl: int, training):
        up1 = self.up[lvl](x, training=training)
        low = self.low1[lvl](self.pool(x), training=training)
        if lvl + 1 < self.depth:
            low = self._level(low, lvl + 1, training)
        else:
            low = self.bottom(low, training=training)
        low = self.low3[lvl](low, training=training)
        return self.add([up1, self.upsample(low)])

    def call(self, x, training=None):
        return self._level(x, 0, training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(filters=self.filters, depth=self.depth, separable=self.separable,
                      sync_batch_norm=self.sync_batch_norm, post_activation=self.post_activation)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**with_current_names(config))
