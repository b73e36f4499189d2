"""Video input and output: frames and times from files and folders, clear errors for
unreadable, truncated and empty videos, bad frames skipped and counted, and the annotated
video and JSON lines of ``predict_video``."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from awing_tf.inference.tracking import landmark_box
from awing_tf.inference.video import VideoOptions, predict_video
from awing_tf.inference.video_io import VideoError, VideoWriter, open_source

TEMPLATE = np.array([[-10, -5], [10, -5], [0, 3], [-6, 10], [6, 10]], np.float64)


def _frame(i: int, w: int = 96, h: int = 64) -> np.ndarray:
    frame = np.full((h, w, 3), 40, np.uint8)
    cv2.circle(frame, (30 + 2 * i, 32), 12, (220, 180, 150), -1)
    return frame


def _write_video(path, frames: int, fps: float = 25.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (96, 64))
    for i in range(frames):
        writer.write(_frame(i))
    writer.release()


def test_video_frames_come_with_their_times(tmp_path):
    _write_video(tmp_path / "clip.mp4", 12, fps=25.0)
    source, frames = open_source(str(tmp_path / "clip.mp4"))
    got = list(frames)
    assert source.fps == pytest.approx(25.0) and source.frame_count == 12
    assert [i for i, _, _ in got] == list(range(12))
    assert [t for _, t, _ in got] == pytest.approx([i / 25 for i in range(12)])
    # the face disc moves 2 px per frame (RGB in, lossy codec: compare the disc's centre)
    for i, _, frame in got[::5]:
        cols = np.nonzero(frame[32, :, 0] > 130)[0]
        assert abs(cols.mean() - (30 + 2 * i)) < 1.5


@pytest.mark.parametrize("content, message", [
    (b"", "cannot open as a video"),
    (b"this is a text file, not a video\n" * 20, "cannot open as a video"),
])
def test_unreadable_videos_are_named(tmp_path, content, message):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError, match=f"{path}: {message}"):
        open_source(str(path))
    with pytest.raises(VideoError, match="no such video file"):
        open_source(str(tmp_path / "missing.mp4"))


def test_a_truncated_video_gives_the_frames_it_has_and_predict_says_so(tmp_path):
    _write_video(tmp_path / "clip.mp4", 40)
    data = (tmp_path / "clip.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    try:
        source, frames = open_source(str(tmp_path / "cut.mp4"))
    except VideoError as err:  # the index lost with the tail: cannot open, named
        assert "cut.mp4" in str(err)
        return
    assert len(list(frames)) < 40


def test_a_folder_of_frames_skips_a_bad_frame_and_counts_it(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"f{i:03d}.png"), _frame(i))
    (folder / "f002.png").write_text("not an image")
    source, frames = open_source(str(folder), frames_folder=True)
    assert [i for i, _, _ in frames] == [0, 1, 3, 4]
    assert [i for i, _ in source.skipped] == [2] and "f002.png" in source.skipped[0][1]
    with pytest.raises(VideoError, match="no frame images"):
        open_source(str(tmp_path), frames_folder=True)


def _disc_x(frame: np.ndarray) -> float:
    return float(np.nonzero(frame[32, :, 0] > 130)[0].mean())


def _fake_model():
    """align: the template on the disc when the disc is inside the box (confidence 0.9),
    else at the box (0.1); detect: the disc's landmark box."""
    def align(frame, boxes):
        x = _disc_x(frame)
        lm, conf = [], []
        for b in boxes:
            inside = b[0] <= x <= b[2]
            lm.append(TEMPLATE + ([x, 32] if inside else [(b[0] + b[2]) / 2, 32]))
            conf.append(0.9 if inside else 0.1)
        return np.stack(lm), np.array(conf)[:, None] * np.ones(len(TEMPLATE))

    def detect(frame):
        return landmark_box(TEMPLATE + [_disc_x(frame), 32])[None]

    return align, detect


def test_predict_video_writes_the_video_and_json_lines(tmp_path):
    _write_video(tmp_path / "clip.mp4", 20)
    align, detect = _fake_model()
    summary = predict_video(str(tmp_path / "clip.mp4"), align, detect, str(tmp_path / "out"),
                            VideoOptions(detect_every=10, max_frames=15), progress=False)
    assert summary["frames"] == 15 and summary["detector_calls"] == 2
    lines = [json.loads(ln) for ln in open(summary["jsonl"])]
    assert [ln["frame"] for ln in lines] == list(range(15))
    assert lines[1]["time"] == pytest.approx(1 / 25)
    sources = [ln["faces"][0]["source"] for ln in lines]
    assert sources[0] == sources[10] == "detector" and sources[1] == "tracking"
    assert {f["id"] for ln in lines for f in ln["faces"]} == {0}
    # the disc moves 2 px per frame; the landmarks follow it (smoothed: a little behind)
    nose = np.array([ln["faces"][0]["landmarks"][2][0] for ln in lines])
    assert np.all(np.abs(nose - (30 + 2 * np.arange(15))) < 3)
    assert lines[0]["faces"][0]["pose"] is None  # five points: no pose
    cap = cv2.VideoCapture(summary["video"])
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 15
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (
        96, 64)
    cap.release()
    assert not list((tmp_path / "out").glob("*.tmp*"))


def test_writer_renames_only_when_complete(tmp_path):
    writer = VideoWriter(str(tmp_path / "v.mp4"), 10.0)
    writer.write(_frame(0))
    assert not (tmp_path / "v.mp4").exists() and (tmp_path / "v.mp4.tmp.mp4").exists()
    writer.close()
    assert (tmp_path / "v.mp4").exists() and not (tmp_path / "v.mp4.tmp.mp4").exists()


def test_a_video_with_no_frame_is_named(tmp_path):
    path = tmp_path / "empty.mp4"
    _write_video(path, 0)
    if not path.exists():  # some OpenCV builds write nothing without a frame
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    align, detect = _fake_model()
    with pytest.raises(VideoError, match=f"{path}: (cannot open as a video|no frame could be "
                                         "read)"):
        predict_video(str(path), align, detect, str(tmp_path / "out"), progress=False)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
