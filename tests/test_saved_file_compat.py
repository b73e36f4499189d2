"""A `.keras` file saved before the package was reorganised still loads and computes the
same outputs (file and expected values in ``tests/data``, see its README)."""

from __future__ import annotations

import pathlib

import numpy as np

DATA = pathlib.Path(__file__).resolve().parent / "data"


def test_tiny_file_from_before_the_reorganisation_gives_the_same_outputs():
    from awing_tf.models.face_aligner import load_aligner

    expected = np.load(DATA / "tiny_300w68_expected.npz")
    model = load_aligner(str(DATA / "tiny_300w68.keras"))
    images = expected["images"]
    outputs = model(images, training=False)
    assert len(outputs) == 2
    for i, out in enumerate(outputs):
        want = expected[f"stack{i}"]
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-5,
                                   atol=1e-5 * np.abs(want).max())
    landmarks, scores = model.predict_landmarks(images, return_scores=True)
    np.testing.assert_allclose(landmarks, expected["landmarks"], atol=1e-4)
    # peak values are heatmap values: the same tolerance as the heatmaps (CPUs with and
    # without AVX-512 sum in different orders, which moves the small peaks most)
    np.testing.assert_allclose(scores, expected["scores"], rtol=1e-5,
                               atol=1e-5 * np.abs(expected["scores"]).max())
    np.testing.assert_allclose(model.predict_landmarks(images, method="subpixel"),
                               expected["landmarks_subpixel"], atol=1e-3)
