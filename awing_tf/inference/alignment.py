"""The batch API: whole images of any size in, every face's landmarks, confidences and head
pose out, with one model call per batch of faces.

``FaceAligner.align`` is the public entry point; this module holds the work so that it needs
only a model object with ``predict_landmarks``, ``input_size`` and ``spec``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from awing_tf.face_crop import check_box, crop_image, map_points
from awing_tf.inference.box_mapping import mapping_for
from awing_tf.inference.confidence import landmark_confidence
from awing_tf.inference.head_pose import SUPPORTED_SCHEMES, HeadPose, head_pose


@dataclasses.dataclass
class AlignedFace:
    """One face of one image, everything in that image's pixels.

    ``box (4,)``: the face box as detected or given; ``crop_box (4,)``: the box the crop was
    made from (a detector box through the detector's :class:`BoxMapping`, a given box as
    is); ``detector_score``: the detector's score (None for a given box); ``keypoints
    (6, 2)`` the detector's keypoints or None; ``landmarks (K, 2)``; ``confidences (K,)`` in
    [0, 1] (``awing_tf.inference.confidence``); ``pose`` a
    :class:`~awing_tf.inference.head_pose.HeadPose` (``yaw``, ``pitch``, ``roll`` degrees)
    or None where the scheme has no 3D face.
    """

    box: np.ndarray
    crop_box: np.ndarray
    detector_score: float | None
    keypoints: np.ndarray | None
    landmarks: np.ndarray
    confidences: np.ndarray
    pose: HeadPose | None = None

    def to_json(self) -> dict:
        """A JSON-ready dict (coordinates rounded to 1/1000 pixel)."""
        out = {
            "box": [round(float(v), 2) for v in self.box],
            "crop_box": [round(float(v), 2) for v in self.crop_box],
            "detector_score": (None if self.detector_score is None
                               else round(float(self.detector_score), 4)),
            "landmarks": np.round(self.landmarks.astype(np.float64), 3).tolist(),
            "confidences": np.round(self.confidences.astype(np.float64), 4).tolist(),
            "mean_confidence": round(float(np.mean(self.confidences)), 4),
            "pose": None if self.pose is None else {
                name: round(float(getattr(self.pose, name)), 2)
                for name in ("yaw", "pitch", "roll")},
        }
        if self.keypoints is not None:
            out["detector_keypoints"] = np.round(self.keypoints.astype(np.float64), 2).tolist()
        return out


def _check_image(image: np.ndarray, index: int) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"images[{index}] must be (H, W, 3) uint8 RGB, got {image.dtype} "
                         f"{image.shape}")
    return image


def check_boxes(boxes: np.ndarray, where: str,
                image_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``boxes`` as ``(N, 4)`` float32, or ValueError naming ``where`` and the bad box.

    Each box needs finite x1, y1, x2, y2 with x2 > x1 and y2 > y1 and, given ``image_shape``,
    must overlap the image (:func:`awing_tf.face_crop.check_box`); a box partly outside the
    image is kept (the crop is black beyond the image).
    """
    b = np.asarray(boxes, np.float64)
    if b.size % 4:
        raise ValueError(f"{where}: boxes must be (N, 4) x1, y1, x2, y2, got shape {b.shape}")
    b = b.reshape(-1, 4)
    for i, box in enumerate(b):
        try:
            check_box(box, image_shape)
        except ValueError as err:
            raise ValueError(f"{where}[{i}]: {err}") from None
    return b.astype(np.float32)


def find_faces(images: Sequence[np.ndarray], boxes: Sequence[np.ndarray | None] | None,
               detector: str, min_face_score: float
               ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """Per image ``(boxes (N, 4), crop boxes (N, 4), detector scores (N,) or None,
    keypoints (N, 6, 2) or None)``: given boxes as they are, else the detector's boxes and
    their mapping to the training crop's box."""
    from awing_tf.inference.face_detection import detect_faces_by_model

    if boxes is not None and len(boxes) != len(images):
        raise ValueError(f"got {len(images)} images but {len(boxes)} box lists")
    found = []
    for i, image in enumerate(images):
        given = None if boxes is None else boxes[i]
        if given is not None:
            b = check_boxes(given, f"boxes[{i}]", image.shape)
            found.append((b, b, None, None))
            continue
        det, model = detect_faces_by_model(image, detector=detector, min_score=min_face_score)
        found.append((det.boxes, mapping_for(model).apply(det.boxes), det.scores,
                      det.keypoints))
    return found


def align_images(model, images: Sequence[np.ndarray],
                 boxes: Sequence[np.ndarray | None] | None = None, *,
                 margin: float, detector: str = "blazeface", min_face_score: float = 0.5,
                 method: str = "quarter_offset", flip_test: bool = False,
                 batch_size: int = 32, with_pose: bool = True) -> list[list[AlignedFace]]:
    """Every face of every image.

    Args:
      model: a FaceAligner (``predict_landmarks``, ``input_size``, ``spec``).
      images: ``(H_i, W_i, 3)`` uint8 RGB arrays of any sizes.
      boxes: per image ``(N_i, 4)`` x1, y1, x2, y2 face boxes in the training convention
        (the tight box of the face's landmarks), or None to detect that image's faces; None
        for all detects in all.
      margin: the crop margin the model was trained with.
      detector, min_face_score: the face detector (``awing_tf.choices.FACE_DETECTORS``) and
        the lowest detection score kept.
      method, flip_test: decoding, and averaging with the mirrored crop.
      batch_size: faces per model call; the crops of all images are batched together.
      with_pose: head pose for schemes that have a 3D mean face (``300w68``).

    Returns:
      per image, a list of :class:`AlignedFace` in the detector's order (best first).
    """
    images = [_check_image(im, i) for i, im in enumerate(images)]
    found = find_faces(images, boxes, detector, min_face_score)
    crops, matrices, owner = [], [], []
    for i, (image, (_, crop_boxes, _, _)) in enumerate(zip(images, found, strict=True)):
        for box in crop_boxes:
            crop, matrix = crop_image(image, box, model.input_size, margin)
            crops.append(crop)
            matrices.append(matrix)
            owner.append(i)
    k = model.spec.num_landmarks
    if crops:
        lm, scores = model.predict_landmarks(np.stack(crops), method=method,
                                             batch_size=batch_size, return_scores=True,
                                             flip_test=flip_test)
        lm = map_points(np.linalg.inv(np.stack(matrices)), lm).astype(np.float32)
    else:
        lm, scores = np.zeros((0, k, 2), np.float32), np.zeros((0, k), np.float32)
    conf = landmark_confidence(scores)
    pose_fn = _pose_function(model.spec.scheme) if with_pose else None
    results: list[list[AlignedFace]] = [[] for _ in images]
    counters = [0] * len(images)
    for j, i in enumerate(owner):
        det_boxes, crop_boxes, det_scores, keypoints = found[i]
        n = counters[i]
        counters[i] += 1
        pose = pose_fn(lm[j], images[i].shape[:2]) if pose_fn else None
        results[i].append(AlignedFace(
            box=det_boxes[n], crop_box=crop_boxes[n],
            detector_score=None if det_scores is None else float(det_scores[n]),
            keypoints=None if keypoints is None else keypoints[n],
            landmarks=lm[j], confidences=conf[j], pose=pose))
    return results


def _pose_function(scheme: str):
    """``(landmarks (K, 2), (H, W)) -> HeadPose``, or None for a scheme without a 3D mean
    face."""
    if scheme not in SUPPORTED_SCHEMES:
        return None
    return lambda landmarks, image_size: head_pose(landmarks, image_size, scheme=scheme)
