"""HeatmapCodec: convention, Gaussian values, boundary geometry, encode -> decode round trips."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from awing_tf.codec import HeatmapCodec, decode_heatmaps
from awing_tf.config import HeatmapSpec


def _codec(input_size: int = 256, heatmap_size: int = 64, scheme: str = "300w68",
           use_boundary: bool = True, **sigmas: float) -> HeatmapCodec:
    return HeatmapCodec(HeatmapSpec(scheme, input_size, heatmap_size, use_boundary), **sigmas)


def test_coordinate_convention_round_trip_and_anchors():
    xy = np.array([[0.0, 0.0], [255.0, 255.0], [-0.5, 127.5]], np.float32)
    c = _codec(256, 64)
    h = c.to_heatmap_coords(xy).numpy()
    # The outer pixel edges coincide: input -0.5 <-> heatmap -0.5; input 1.5 <-> heatmap 0.
    np.testing.assert_allclose(h[2], [-0.5, 31.5])
    np.testing.assert_allclose(c.to_heatmap_coords([[1.5, 1.5]]).numpy(), [[0, 0]])
    np.testing.assert_allclose(c.to_input_coords(h).numpy(), xy, atol=1e-5)


def test_gaussian_values_follow_the_formula():
    lm = np.array([[[41.0, 22.0]]], np.float32)  # heatmap coords (10.125, 5.375)
    hm = _codec(256, 64, sigma=1.5).encode_landmarks(lm).numpy()[0, ..., 0]
    cx, cy = (41.0 + 0.5) / 4 - 0.5, (22.0 + 0.5) / 4 - 0.5
    yy, xx = np.mgrid[0:64, 0:64]
    d2 = (xx - cx) ** 2 + (yy - cy) ** 2
    want = np.where(d2 <= (3 * 1.5) ** 2, np.exp(-d2 / (2 * 1.5**2)), 0.0)
    np.testing.assert_allclose(hm, want, atol=1e-6)


def test_visible_zero_leaves_channel_empty():
    lm = np.full((1, 3, 2), 100.0, np.float32)
    hm = _codec(128, 32).encode_landmarks(lm, visible=np.array([[1, 0, 1]])).numpy()
    assert hm[..., 1].max() == 0.0 and hm[..., 0].max() > 0.9


@pytest.mark.parametrize("method,tol", [("subpixel", 0.1), ("quarter_offset", 0.25 + 1e-5)])
def test_round_trip_random_subpixel_landmarks(method, tol):
    rng = np.random.default_rng(1)
    lm = rng.uniform(12, 244, (6, 68, 2)).astype(np.float32)
    c = _codec(256, 64, sigma=1.5)
    hm = c.encode(lm)
    dec, scores = c.decode(hm, method=method)
    err_h = np.abs(c.to_heatmap_coords(dec) - c.to_heatmap_coords(lm))
    assert float(np.max(err_h)) <= tol
    assert scores.shape == (6, 68) and np.all(scores.numpy() > 0.8)


def test_quarter_offset_rule():
    hm = np.zeros((1, 9, 9, 1), np.float32)
    hm[0, 4, 4, 0], hm[0, 4, 5, 0], hm[0, 4, 3, 0] = 1.0, 0.6, 0.2
    hm[0, 3, 4, 0], hm[0, 5, 4, 0] = 0.5, 0.5
    dec, score = decode_heatmaps(tf.constant(hm), method="quarter_offset")
    np.testing.assert_allclose(dec.numpy()[0, 0], [4.25, 4.0])
    assert float(score[0, 0]) == 1.0


def test_decode_in_input_pixels_and_bad_method():
    c = HeatmapCodec(HeatmapSpec("lsp14", 128, 32, use_boundary=False))
    lm = np.full((1, 14, 2), 64.0, np.float32)
    lm[0, 0] = [64.0, 32.0]
    hm = c.encode(lm)
    dec, _ = c.decode(hm, "subpixel")
    np.testing.assert_allclose(dec.numpy()[0, 0], [64.0, 32.0], atol=0.4)
    with pytest.raises(ValueError, match="decode method"):
        c.decode(hm, "centroid")


def test_boundary_is_distance_to_polyline():
    # LSP's "neck to head top" curve (12, 13) as a single vertical segment; other curves are
    # switched off by visibility so the channel is that one segment.
    lm = np.zeros((14, 2), np.float32)
    lm[12] = [4 * 10 + 1.5, 4 * 5 + 1.5]   # heatmap (10, 5)
    lm[13] = [4 * 10 + 1.5, 4 * 20 + 1.5]  # heatmap (10, 20)
    vis = np.zeros(14, np.float32)
    vis[[12, 13]] = 1
    c = _codec(128, 32, scheme="lsp14", boundary_sigma=1.0)
    b = c.encode_boundary(lm, visible=vis).numpy()[..., 0]
    assert b.shape == (32, 32)
    assert b[12, 10] == pytest.approx(1.0)              # on the segment
    assert b[12, 11] == pytest.approx(np.exp(-0.5))     # 1 px beside it
    assert b[12, 12] == pytest.approx(np.exp(-2.0))     # 2 px beside it
    assert b[3, 10] == pytest.approx(np.exp(-2.0))      # 2 px beyond the end point
    assert b[12, 14] == 0.0                             # 4 px > 3 sigma: cut off


def test_boundary_of_a_face_covers_its_curves():
    rng = np.random.default_rng(0)
    lm = rng.uniform(20, 100, (2, 68, 2)).astype(np.float32)
    c = _codec(128, 32)
    t = c.encode(lm)
    assert t.shape == (2, 32, 32, 69)
    h = c.to_heatmap_coords(lm).numpy()
    for b in range(2):
        for i in range(68):  # every landmark lies on a curve -> boundary ~1 at its pixel
            x, y = np.round(h[b, i]).astype(int)
            assert t.numpy()[b, y, x, 68] > np.exp(-0.5 * 0.5) - 1e-3


def _boundary_reference(lm_h: np.ndarray, segments, vis: np.ndarray, h: int, sigma: float):
    """Every pixel's exact distance to every visible segment, in float64 NumPy."""
    yy, xx = np.mgrid[0:h, 0:h].astype(np.float64)
    best = np.full((h, h), np.inf)
    for s, e in segments:
        if not (vis[s] and vis[e]):
            continue
        a, b = lm_h[s], lm_h[e]
        ab = b - a
        t = ((xx - a[0]) * ab[0] + (yy - a[1]) * ab[1]) / max(ab @ ab, 1e-12)
        t = np.clip(t, 0, 1)
        d2 = (xx - a[0] - t * ab[0]) ** 2 + (yy - a[1] - t * ab[1]) ** 2
        best = np.minimum(best, d2)
    return np.where(best <= 9 * sigma**2, np.exp(-best / (2 * sigma**2)), 0.0)


def test_encoders_equal_a_brute_force_reference_with_odd_points():
    from awing_tf.schemes import W300_68

    rng = np.random.default_rng(0)
    lm = rng.uniform(-20, 150, (3, 68, 2)).astype(np.float32)  # some points off the crop
    vis = (rng.uniform(size=(3, 68)) > 0.2).astype(np.float32)
    c = _codec(128, 32, sigma=1.5, boundary_sigma=1.0)
    target = c.encode(lm, visible=vis).numpy()
    lm_h = (lm.astype(np.float64) + 0.5) * 32 / 128 - 0.5
    yy, xx = np.mgrid[0:32, 0:32]
    for b in range(3):
        for k in (0, 7, 40, 67):
            d2 = (xx - lm_h[b, k, 0]) ** 2 + (yy - lm_h[b, k, 1]) ** 2
            want = np.where(d2 <= 9 * 1.5**2, np.exp(-d2 / (2 * 1.5**2)), 0.0) * vis[b, k]
            np.testing.assert_allclose(target[b, ..., k], want, atol=1e-5)
        want_b = _boundary_reference(lm_h[b], W300_68.boundary_segments(), vis[b], 32, 1.0)
        np.testing.assert_allclose(target[b, ..., 68], want_b, atol=1e-5)
    # Leading dims: one face without a batch axis gives the same channels.
    single = c.encode(lm[1], visible=vis[1]).numpy()
    np.testing.assert_allclose(single, target[1], atol=1e-6)


def test_codec_decodes_only_the_landmark_channels_and_checks_its_arguments():
    c = _codec(128, 32)
    rng = np.random.default_rng(3)
    lm = rng.uniform(20, 100, (2, 68, 2)).astype(np.float32)
    with_boundary = c.encode(lm)
    np.testing.assert_allclose(c.decode(with_boundary)[0].numpy(),
                               c.decode(c.landmark_channels(with_boundary))[0].numpy())
    no_boundary = HeatmapCodec(HeatmapSpec("300w68", 128, 32, use_boundary=False))
    assert no_boundary.encode(lm).shape == (2, 32, 32, 68)
    with pytest.raises(ValueError, match="sigma"):
        _codec(sigma=0.0)
    with pytest.raises(TypeError, match="HeatmapSpec"):
        HeatmapCodec("300w68")
