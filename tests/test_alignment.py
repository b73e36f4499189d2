"""The batch API (``FaceAligner.align``): whole images of any size, many faces, one model
call per batch of faces, against per-face calls on the same crops."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from awing_tf.face_crop import crop_image, map_points
from awing_tf.inference import alignment
from awing_tf.inference.box_mapping import BoxMapping
from awing_tf.inference.face_detection import FaceDetections
from awing_tf.models.face_aligner import FaceAligner


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(3)
    m = FaceAligner.from_preset("tiny")
    m.crop_margin = 0.2
    return m


def _images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, shape, np.uint8)
            for shape in ((90, 120, 3), (200, 150, 3), (64, 64, 3))]


BOXES = [np.array([[10, 5, 70, 70], [60, 20, 110, 80]], np.float32),
         np.array([[30.5, 40, 130, 150]], np.float32),
         np.zeros((0, 4), np.float32)]


def test_align_matches_per_face_calls_with_one_model_call(model, monkeypatch):
    from awing_tf.models import face_aligner

    calls = []
    real = tf.function(lambda x: model.decode(x), reduce_retracing=True)
    monkeypatch.setitem(face_aligner._DECODERS, model, {
        ("quarter_offset", False): lambda x: calls.append(len(x)) or real(x)})
    images = _images()
    got = model.align(images, BOXES, batch_size=32)
    assert calls == [3]  # three faces on three images: one batch
    assert [len(faces) for faces in got] == [2, 1, 0]
    for image, boxes, faces in zip(images, BOXES, got, strict=True):
        for box, face in zip(boxes, faces, strict=True):
            crop, matrix = crop_image(image, box, model.input_size, 0.2)
            lm, scores = model.predict_landmarks(crop[None], return_scores=True)
            want = map_points(np.linalg.inv(matrix), lm[0])
            np.testing.assert_allclose(face.landmarks, want, atol=1e-3)
            np.testing.assert_allclose(face.confidences, np.clip(scores[0], 0, 1), atol=1e-4)
            np.testing.assert_array_equal(face.box, box)
            np.testing.assert_array_equal(face.crop_box, box)
            assert face.detector_score is None and face.pose is not None
            assert set(face.to_json()) >= {"box", "landmarks", "confidences", "pose"}
    calls.clear()
    model.align(images, BOXES, batch_size=2)
    assert calls == [2, 1]  # batches of two faces


def test_one_image_in_one_list_out_and_bad_boxes_are_named(model):
    image = _images()[0]
    faces = model.align(image, BOXES[0])
    assert len(faces) == 2 and faces[0].landmarks.shape == (68, 2)
    with pytest.raises(ValueError, match=r"boxes\[0\]\[1\].*x2 > x1"):
        model.align([image], [np.array([[1, 1, 20, 20], [5, 5, 5, 9]])])
    with pytest.raises(ValueError, match=r"images\[1\] must be \(H, W, 3\) uint8"):
        model.align([image, image.astype(np.float32)])
    with pytest.raises(ValueError, match="2 images but 1 box lists"):
        model.align([image, image], [BOXES[0]])


def test_detected_boxes_go_through_the_detectors_mapping(model, monkeypatch):
    det = FaceDetections(boxes=np.array([[20, 10, 80, 70]], np.float32),
                         scores=np.array([0.9], np.float32),
                         keypoints=np.full((1, 6, 2), 40, np.float32))
    seen = {}

    def fake_detect(image, detector, min_score, **_):
        seen.update(detector=detector, min_score=min_score)
        return det, "blazeface_full"

    mapping = BoxMapping(dx=0.05, dy=0.1, sw=1.1, sh=0.9)
    monkeypatch.setattr("awing_tf.inference.face_detection.detect_faces_by_model",
                        fake_detect)
    # the mapping of the model that drew the boxes
    monkeypatch.setattr(alignment, "mapping_for",
                        lambda name: mapping if name == "blazeface_full" else BoxMapping())
    image = _images()[0]
    face, = model.align(image, detector="blazeface_full", min_face_score=0.7)
    assert seen == {"detector": "blazeface_full", "min_score": 0.7}
    np.testing.assert_allclose(face.crop_box, mapping.apply(det.boxes)[0])
    want = model.align(image, face.crop_box[None])[0].landmarks
    np.testing.assert_allclose(face.landmarks, want, atol=1e-4)
    assert face.detector_score == pytest.approx(0.9)
    np.testing.assert_array_equal(face.box, det.boxes[0])
