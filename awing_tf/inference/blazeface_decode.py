"""BlazeFace outputs to face detections in NumPy: SSD anchors, decoding, weighted NMS.

Follows MediaPipe's face-detection graphs (``face_detection_short_range_common.pbtxt``,
``face_detection_full_range_common.pbtxt``): ``SsdAnchorsCalculator`` with a fixed anchor
size of 1, ``TensorsToDetectionsCalculator`` with boxes in x, y, w, h order scaled by the
input size, and ``NonMaxSuppressionCalculator`` with the weighted algorithm on
intersection over union. Coordinates here are normalized to the model's square input
(0 .. 1 across it); :mod:`awing_tf.inference.blazeface` maps them to image pixels.

Keypoint order (MediaPipe's names, as seen by the subject): right eye, left eye, nose tip,
mouth centre, right ear tragion, left ear tragion.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NUM_KEYPOINTS = 6
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear_tragion",
                  "left_ear_tragion")
NOSE_TIP = KEYPOINT_NAMES.index("nose_tip")
# MediaPipe's score_clipping_thresh: logits are clipped to this before the sigmoid
LOGIT_CLIP = 100.0
# MediaPipe's min_suppression_threshold for face detection
NMS_IOU = 0.3


class Detections(NamedTuple):
    """Face detections, one row per face.

    ``boxes: (N, 4)`` x1, y1, x2, y2; ``scores: (N,)`` in [0, 1];
    ``keypoints: (N, 6, 2)`` x, y in :data:`KEYPOINT_NAMES` order. All float32, in the same
    coordinates as each other (normalized input coordinates or image pixels).
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray


def empty_detections() -> Detections:
    """No faces: ``boxes (0, 4)``, ``scores (0,)``, ``keypoints (0, 6, 2)``, float32."""
    return Detections(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32),
                      np.zeros((0, NUM_KEYPOINTS, 2), np.float32))


def concat_detections(parts: list[Detections]) -> Detections:
    """The rows of every part, in order."""
    if not parts:
        return empty_detections()
    return Detections(*(np.concatenate([getattr(p, f) for p in parts]).astype(np.float32)
                        for f in Detections._fields))


def select(dets: Detections, keep: np.ndarray) -> Detections:
    """The rows ``keep`` (an index array or a boolean mask ``(N,)``) of ``dets``."""
    return Detections(dets.boxes[keep], dets.scores[keep], dets.keypoints[keep])


def ssd_anchors(input_size: int, strides: tuple[int, ...] | list[int],
                anchors_per_cell: int, offset: float = 0.5) -> np.ndarray:
    """Anchor centres ``(A, 2)`` x, y normalized to the input, in the model's output order.

    ``strides``: one per SSD layer (MediaPipe's ``strides``); each layer puts
    ``anchors_per_cell`` anchors in every cell of its ``ceil(input_size / stride)`` square
    grid (2 with ``interpolated_scale_aspect_ratio`` 1, as in the short-range model; 1 with
    0, as in the full-range model). Consecutive layers with the same stride share one grid,
    so their cells hold the sum. Within a grid the order is row, column, anchor; a cell's
    centre is ``((col + offset) / cells, (row + offset) / cells)``. All anchors have size 1
    (``fixed_anchor_size``), so only centres are returned.
    """
    if anchors_per_cell < 1 or not strides:
        raise ValueError(f"need strides and anchors_per_cell >= 1, got {strides!r}, "
                         f"{anchors_per_cell!r}")
    out = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        repeats = 0
        while layer < len(strides) and strides[layer] == stride:
            repeats += 1
            layer += 1
        cells = -(-input_size // stride)
        centres = (np.arange(cells, dtype=np.float64) + offset) / cells
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=-1)  # (cells * cells, 2)
        out.append(np.repeat(grid, repeats * anchors_per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


def sigmoid_scores(logits: np.ndarray) -> np.ndarray:
    """Scores ``(A,)`` from logits ``(A,)`` or ``(A, 1)``, clipped as MediaPipe does."""
    z = np.clip(np.asarray(logits, np.float64).reshape(-1), -LOGIT_CLIP, LOGIT_CLIP)
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def decode_detections(regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray,
                      input_size: int) -> Detections:
    """Every anchor's detection, in normalized input coordinates.

    ``regressors: (A, 16)`` input pixels relative to the anchor centre: box centre dx, dy,
    width, height, then the 6 keypoints' dx, dy; ``logits: (A, 1)`` or ``(A,)``;
    ``anchors: (A, 2)`` centres from :func:`ssd_anchors`. Returns ``boxes (A, 4)`` x1, y1,
    x2, y2, ``scores (A,)`` (sigmoid) and ``keypoints (A, 6, 2)``.
    """
    reg = np.asarray(regressors, np.float32)
    if reg.ndim != 2 or reg.shape[1] != 4 + 2 * NUM_KEYPOINTS or len(reg) != len(anchors):
        raise ValueError(f"regressors must be (A, 16) with A = {len(anchors)} anchors, "
                         f"got {reg.shape}")
    scale = np.float32(input_size)
    centre = anchors + reg[:, 0:2] / scale
    half = reg[:, 2:4] / (2 * scale)
    boxes = np.concatenate([centre - half, centre + half], axis=-1)
    keypoints = anchors[:, None, :] + reg[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) / scale
    return Detections(boxes.astype(np.float32), sigmoid_scores(logits),
                      keypoints.astype(np.float32))


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union ``(N,)`` of one ``box (4,)`` with ``boxes (N, 4)`` x1 y1 x2 y2."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(dets: Detections, iou_threshold: float = NMS_IOU,
                 max_detections: int | None = None) -> Detections:
    """MediaPipe's weighted non-maximum suppression, best score first.

    Repeatedly takes the best remaining detection and every remaining one overlapping it
    with IoU ``> iou_threshold`` (itself included); they become one detection whose box
    and keypoints are the score-weighted mean of theirs and whose score is the best one's.
    """
    order = np.argsort(-dets.scores, kind="stable")
    boxes = dets.boxes[order].astype(np.float64)
    scores = dets.scores[order].astype(np.float64)
    kps = dets.keypoints[order].astype(np.float64)
    remaining = np.arange(len(order))
    out_b, out_s, out_k = [], [], []
    while remaining.size and (max_detections is None or len(out_b) < max_detections):
        best = remaining[0]
        group = remaining[box_iou(boxes[best], boxes[remaining]) > iou_threshold]
        group = np.union1d(group, [best])
        w = scores[group] / scores[group].sum() if scores[group].sum() > 0 else \
            np.full(len(group), 1.0 / len(group))
        out_b.append(w @ boxes[group])
        out_k.append(np.tensordot(w, kps[group], axes=1))
        out_s.append(scores[best])
        remaining = remaining[~np.isin(remaining, group)]
    if not out_b:
        return empty_detections()
    return Detections(np.array(out_b, np.float32), np.array(out_s, np.float32),
                      np.array(out_k, np.float32).reshape(-1, NUM_KEYPOINTS, 2))
