"""Layer test helper in the spirit of keras-hub's ``run_layer_test``: config round trip,
``.keras`` save/load with equal outputs, and one ``fit`` step that changes the weights."""

from __future__ import annotations

import keras
import numpy as np


def run_layer_test(layer_cls, init_kwargs: dict, inputs, tmp_path, expected_shape) -> None:
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config

    if isinstance(inputs, list):
        sym = [keras.Input(x.shape[1:]) for x in inputs]
    else:
        sym = keras.Input(inputs.shape[1:])
    out = layer_cls(**init_kwargs)(sym)
    model = keras.Model(sym, out)
    y = model.predict(inputs, verbose=0)
    assert tuple(y.shape) == tuple(expected_shape)
    assert np.all(np.isfinite(y))

    path = tmp_path / "layer.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored.predict(inputs, verbose=0), y, rtol=1e-6, atol=1e-6)

    before = [w.numpy().copy() for w in model.trainable_weights]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=False)
    history = model.fit(inputs, np.zeros_like(y) + 1.0, epochs=1, batch_size=len(y), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [w.numpy() for w in model.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
