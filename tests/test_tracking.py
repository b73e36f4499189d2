"""The face tracker with a simulated model and detector: hand-off from the detector to
tracking, re-detection on low confidence, identities of several faces, lost faces and
smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from awing_tf.inference.tracking import FaceTracker, SmoothingOptions, landmark_box

TEMPLATE = np.array([[-20, -10], [20, -10], [0, 5], [-12, 20], [12, 20]], np.float64)


class World:
    """Faces at known centres per frame; the 'model' finds the face whose centre lies inside
    the box it is given (confidence 0.9), else reports 0.1; the 'detector' returns every
    face's landmark box that is marked visible."""

    def __init__(self, centres):
        self.centres = centres  # frame -> list of (x, y) or None (face not there)
        self.frame = 0
        self.detect_frames: list[int] = []
        self.low_confidence_frames: set[int] = set()

    def faces(self):
        return [c for c in self.centres(self.frame) if c is not None]

    def align(self, frame, boxes):
        lm, conf = [], []
        for b in boxes:
            inside = [c for c in self.faces()
                      if b[0] <= c[0] <= b[2] and b[1] <= c[1] <= b[3]]
            if inside:
                lm.append(TEMPLATE + inside[0])
                conf.append(0.2 if self.frame in self.low_confidence_frames else 0.9)
            else:
                lm.append(TEMPLATE + [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
                conf.append(0.1)
        return np.array(lm), np.full((len(boxes), len(TEMPLATE)), 1.0) * np.array(conf)[:, None]

    def detect(self, frame):
        self.detect_frames.append(self.frame)
        return np.array([landmark_box(TEMPLATE + c) for c in self.faces()]).reshape(-1, 4)


def _run(world, tracker, frames):
    out = []
    for i in range(frames):
        world.frame = i
        out.append(tracker.update(np.zeros((4, 4, 3), np.uint8), i / 30))
    return out


def test_detector_hands_off_to_tracking_and_runs_every_n_frames():
    world = World(lambda f: [(100 + 2 * f, 80)])
    tracker = FaceTracker(world.align, world.detect, detect_every=5, smoothing=None)
    frames = _run(world, tracker, 12)
    assert world.detect_frames == [0, 5, 10] and tracker.detector_calls == 3
    assert [f[0].source for f in frames] == ["detector"] + ["tracking"] * 4 + [
        "detector"] + ["tracking"] * 4 + ["detector", "tracking"]
    for i, faces in enumerate(frames):
        assert len(faces) == 1 and faces[0].track_id == 0
        np.testing.assert_allclose(faces[0].landmarks, TEMPLATE + (100 + 2 * i, 80))


def test_low_confidence_triggers_detection_in_the_same_frame():
    world = World(lambda f: [(100, 80)])
    world.low_confidence_frames = {3}
    tracker = FaceTracker(world.align, world.detect, detect_every=100, smoothing=None,
                          min_track_confidence=0.5)
    frames = _run(world, tracker, 6)
    # frame 3: tracked at 0.2 -> detect again in frame 3; frame 4: the track is still below
    # the threshold from frame 3, so the detector runs once more, then tracking resumes
    assert world.detect_frames == [0, 3, 4]
    assert [f[0].source for f in frames] == ["detector", "tracking", "tracking", "detector",
                                             "detector", "tracking"]
    assert {f[0].track_id for f in frames} == {0}


def test_several_faces_keep_their_identities_and_a_new_face_gets_a_new_one():
    def centres(f):
        return [(60 + f, 60), (200 - f, 70), (300, 200) if f >= 4 else None]

    world = World(centres)
    tracker = FaceTracker(world.align, world.detect, detect_every=4, smoothing=None)
    frames = _run(world, tracker, 9)
    for i, faces in enumerate(frames):
        by_id = {f.track_id: f for f in faces}
        np.testing.assert_allclose(by_id[0].raw_landmarks.mean(0), TEMPLATE.mean(0) + (60 + i, 60))
        np.testing.assert_allclose(by_id[1].raw_landmarks.mean(0), TEMPLATE.mean(0) + (200 - i, 70))
        assert sorted(by_id) == ([0, 1, 2] if i >= 4 else [0, 1])


def test_a_face_that_leaves_is_dropped():
    world = World(lambda f: [(100, 80) if f < 3 else None, (250, 90)])
    tracker = FaceTracker(world.align, world.detect, detect_every=50, smoothing=None)
    frames = _run(world, tracker, 6)
    assert [sorted(f.track_id for f in faces) for faces in frames] == [[0, 1]] * 3 + [[1]] * 3


def test_smoothing_damps_jitter_of_a_still_face():
    rng = np.random.default_rng(0)
    jitter = rng.normal(0, 1.0, (60, 2))
    world = World(lambda f: [(100 + jitter[f, 0], 80 + jitter[f, 1])])
    raw = _run(world, FaceTracker(world.align, world.detect, smoothing=None), 60)
    world.frame = 0
    smooth = _run(world, FaceTracker(world.align, world.detect,
                                     smoothing=SmoothingOptions(min_cutoff=1.0, beta=0.0)), 60)

    def jitter_of(frames):
        pts = np.stack([f[0].landmarks for f in frames])
        return np.linalg.norm(np.diff(pts[10:], axis=0), axis=-1).mean()

    assert jitter_of(smooth) < 0.4 * jitter_of(raw)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="detect_every"):
        FaceTracker(None, None, detect_every=0)
    with pytest.raises(ValueError, match="min_track_confidence"):
        FaceTracker(None, None, min_track_confidence=2)


def test_a_track_the_detector_does_not_confirm_is_dropped_even_when_confident():
    # the 'model' sees a face wherever it looks (a ghost after the face leaves at frame 3);
    # the detector, run every 5 frames, no longer finds it: the track ends there
    world = World(lambda f: [(100, 80) if f < 3 else None])
    world.align = lambda frame, boxes: (
        np.array([TEMPLATE + [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b in boxes]),
        np.full((len(boxes), len(TEMPLATE)), 0.9))
    tracker = FaceTracker(world.align, world.detect, detect_every=5, smoothing=None)
    frames = _run(world, tracker, 8)
    assert [len(f) for f in frames] == [1, 1, 1, 1, 1, 0, 0, 0]
    assert world.detect_frames == [0, 5, 6, 7]  # nothing tracked: detect every frame
