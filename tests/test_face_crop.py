"""The NumPy face crop equals the pipeline's TensorFlow crop; points map through it."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from awing_tf.data import geometry
from awing_tf.face_crop import crop_image, crop_matrix, map_points


@pytest.mark.parametrize("margin", [0.0, 0.1, 0.35])
def test_crop_matrix_equals_the_pipeline_crop(margin):
    for box in ([12.3, 20.0, 90.7, 110.2], [-40.0, 5.0, 10.0, 30.0]):
        want = geometry.crop_matrix(tf.constant(box), 96, margin).numpy()
        np.testing.assert_allclose(crop_matrix(np.array(box), 96, margin), want, rtol=1e-6,
                                   atol=1e-4)


def test_map_points_by_hand_and_batched():
    m = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, -1.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(map_points(m, [[1.0, 1.0], [0.0, 2.0]]), [[3.0, 2.0],
                                                                         [1.0, 5.0]])
    batch = np.stack([m, np.eye(3)])
    pts = np.array([[[1.0, 1.0]], [[4.0, 5.0]]])
    np.testing.assert_allclose(map_points(batch, pts), [[[3.0, 2.0]], [[4.0, 5.0]]])


def test_the_square_box_fills_the_crop_and_points_come_back():
    box = np.array([10.0, 20.0, 110.0, 60.0])  # 100 x 40: the square of side 100
    m = crop_matrix(box, 50)
    corners = map_points(m, [[10.0, -10.0], [110.0, 90.0]])
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [49.5, 49.5]])
    pts = np.array([[33.3, 41.0], [70.2, 22.5]])
    np.testing.assert_allclose(map_points(np.linalg.inv(m), map_points(m, pts)), pts)


def test_crop_image_samples_the_image_at_the_mapped_pixels():
    image = np.zeros((40, 60, 3), np.uint8)
    image[20, 30] = 255
    crop, m = crop_image(image, np.array([9.5, -0.5, 49.5, 39.5]), 40)  # scale 1, shift -10
    assert crop.shape == (40, 40, 3) and crop.dtype == np.float32
    y, x = np.unravel_index(np.argmax(crop[..., 0]), crop.shape[:2])
    np.testing.assert_allclose(map_points(m, [[30.0, 20.0]])[0], [x, y])
    assert crop.max() == pytest.approx(1.0)


def test_bad_boxes_are_named():
    with pytest.raises(ValueError, match="box must be 4 finite"):
        crop_matrix(np.array([0.0, np.nan, 1.0, 1.0]), 64)
    with pytest.raises(ValueError, match="margin"):
        crop_matrix(np.array([0.0, 0.0, 1.0, 1.0]), 64, margin=-1.0)
