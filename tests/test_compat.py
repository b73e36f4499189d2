"""Every private Keras / TensorFlow hook the package relies on exists in this installation."""

from __future__ import annotations

import keras
import tensorflow as tf

from awing_tf import compat


def test_every_private_hook_exists():
    missing = compat.missing_hooks()
    assert not missing, (
        f"Keras {keras.__version__} / TensorFlow {tf.__version__} lack private hooks that "
        f"awing_tf.compat was written for (Keras {compat.KERAS_VERSION}, TensorFlow "
        f"{compat.TENSORFLOW_VERSION}): {missing}")


def test_missing_hooks_reports_a_hook_that_is_gone(monkeypatch):
    monkeypatch.setattr(compat, "_HOOKS", compat._HOOKS + (("keras.layers", "Layer._gone"),))
    assert compat.missing_hooks() == ["keras.layers:Layer._gone"]


def test_child_layers_sees_layers_held_in_lists_of_a_subclassed_layer():
    from awing_tf.layers.conv_block import ConvBlock

    block = ConvBlock(16)
    block.build((None, 8, 8, 8))  # widths differ: a skip BN and convolution exist
    direct = compat.child_layers(block)
    assert all(conv in direct for conv in block.convs) and block.skip_conv in direct
    assert len(compat.child_layers(block, recursive=True)) >= len(direct)


def test_replaced_calls_wrap_and_restore_and_refuse_nesting():
    layer = keras.layers.Dense(2, kernel_initializer="ones", use_bias=False)
    x = tf.ones((1, 3))
    original = layer.call
    with compat.replaced_calls({layer: lambda inputs: original(inputs) * 10.0}):
        assert float(layer(x)[0, 0]) == 30.0
        try:
            with compat.replaced_calls({layer: original}):
                raise AssertionError("a nested replacement must be refused")
        except ValueError as err:
            assert "already wrapped" in str(err)
        assert float(layer(x)[0, 0]) == 30.0  # the outer wrap survives the refusal
    assert "call" not in vars(layer) and float(layer(x)[0, 0]) == 3.0
