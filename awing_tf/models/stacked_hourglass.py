"""Stacked Hourglass with CoordConv, boundary channel and intermediate supervision (Fig. 3)."""

from __future__ import annotations

import keras

from awing_tf.config import Config, ModelConfig
from awing_tf.layers.conv_block import ConvBlock, batch_norm
from awing_tf.layers.coord_conv import CoordConv
from awing_tf.layers.hourglass import Hourglass
from awing_tf.layers.pooling import AveragePooling2x2


def _model_config(config: Config | ModelConfig) -> ModelConfig:
    if isinstance(config, Config):
        return config.model
    if isinstance(config, ModelConfig):
        return config
    raise TypeError(f"config must be a Config or ModelConfig, got {type(config).__name__}")


def _validate(cfg: ModelConfig) -> None:
    if cfg.input_size != 4 * cfg.heatmap_size:
        raise ValueError(f"input_size must be 4 x heatmap_size, got input_size="
                         f"{cfg.input_size} and heatmap_size={cfg.heatmap_size}")
    if cfg.heatmap_size % (2 ** cfg.hourglass_depth):
        raise ValueError(f"heatmap_size={cfg.heatmap_size} must be divisible by "
                         f"2**hourglass_depth={2 ** cfg.hourglass_depth}")
    if cfg.num_stacks < 1:
        raise ValueError(f"num_stacks must be >= 1, got {cfg.num_stacks}")
    if cfg.stem_kernel_size < 1 or cfg.stem_kernel_size % 2 == 0:
        raise ValueError(f"stem_kernel_size must be odd and >= 1, got {cfg.stem_kernel_size}")
    if cfg.num_features % 8:
        raise ValueError(f"num_features must be divisible by 8, got {cfg.num_features}")


def build_model(config: Config | ModelConfig, name: str | None = None) -> keras.Model:
    """Builds the stacked hourglass network.

    Input ``image``: ``(B, S, S, 3)`` float32 in [0, 1]. Outputs: a list of ``num_stacks``
    heatmap tensors ``(B, h, w, K [+1])`` in float32 (boundary channel last), one per stack
    for intermediate supervision; inference uses the last one.

    Layout (paper Sec. 3, after Bulat et al. / the authors' release): a stride-2 7x7
    (``stem_kernel_size``) (Coord)Conv stem, ConvBlock, average pool, two ConvBlocks
    (S -> S/4; ``early_pool`` pools before the first ConvBlock instead, so every stem block
    runs at S/4); then for each stack a CoordConv (1x1, with x, y, r, plus boundary-masked x, y
    from the previous stack's boundary output from the second stack on), a Hourglass, a
    ConvBlock, 1x1 conv-BN-ReLU and a 1x1 head; heads are re-injected into the next stack's
    input.
    """
    cfg = _model_config(config)
    _validate(cfg)
    f = cfg.num_features
    k_out = cfg.num_outputs
    sync = cfg.sync_batch_norm
    blocks = {"separable": cfg.separable, "sync_batch_norm": sync,
              "post_activation": cfg.post_activation}
    inputs = keras.Input((cfg.input_size, cfg.input_size, 3), name="image")

    # === Stem ===
    if cfg.use_coordconv:
        x = CoordConv(f // 4, kernel_size=cfg.stem_kernel_size, strides=2,
                      name="stem_coordconv")(inputs)
    else:
        x = keras.layers.Conv2D(f // 4, cfg.stem_kernel_size, strides=2, padding="same",
                                name="stem_conv")(inputs)
    x = batch_norm("stem_bn", synchronized=sync)(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    if cfg.early_pool:
        x = AveragePooling2x2(name="stem_pool")(x)
        x = ConvBlock(f // 2, **blocks, name="stem_block1")(x)
    else:
        x = ConvBlock(f // 2, **blocks, name="stem_block1")(x)
        x = AveragePooling2x2(name="stem_pool")(x)
    x = ConvBlock(f // 2, **blocks, name="stem_block2")(x)
    x = ConvBlock(f, **blocks, name="stem_block3")(x)

    # === Stacks ===
    previous = x
    boundary = None
    outputs = []
    for i in range(cfg.num_stacks):
        hg_in = previous
        if cfg.use_coordconv:
            with_boundary = (
                boundary is not None and cfg.use_boundary and cfg.use_boundary_coords
            )
            coord = CoordConv(f, kernel_size=1, with_boundary=with_boundary,
                              name=f"stack{i}_coordconv")
            hg_in = coord([previous, boundary]) if with_boundary else coord(previous)
        hg = Hourglass(f, depth=cfg.hourglass_depth, **blocks, name=f"stack{i}_hourglass")(hg_in)
        ll = ConvBlock(f, **blocks, name=f"stack{i}_top_block")(hg)
        ll = keras.layers.Conv2D(f, 1, name=f"stack{i}_conv_last")(ll)
        ll = batch_norm(f"stack{i}_bn_end", synchronized=sync)(ll)
        ll = keras.layers.ReLU(name=f"stack{i}_relu_end")(ll)
        heatmaps = keras.layers.Conv2D(k_out, 1, dtype="float32", name=f"heatmaps_{i}")(ll)
        outputs.append(heatmaps)
        if cfg.use_boundary:
            boundary = heatmaps[..., -1:]
        if i < cfg.num_stacks - 1:
            back_ll = keras.layers.Conv2D(f, 1, name=f"stack{i}_bl")(ll)
            back_hm = keras.layers.Conv2D(f, 1, name=f"stack{i}_al")(heatmaps)
            previous = keras.layers.Add(name=f"stack{i}_reinject")([previous, back_ll, back_hm])

    # === Functional Model ===
    return keras.Model(inputs, outputs, name=name or f"stacked_hourglass_{cfg.num_stacks}")
