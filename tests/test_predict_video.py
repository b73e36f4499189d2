"""``awing-predict`` and ``export.runner`` on video: the real clip, bad videos and frame
folders, from the command line as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from awing_tf import pretrained
from tests.conftest import REPO

needs_pretrained = pytest.mark.skipif(
    "300w68_compact" not in pretrained.available(), reason="pretrained models not installed")


def _run(module: str, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def _lines(path) -> list[dict]:
    return [json.loads(ln) for ln in open(path)]


def _check_outputs(out, stem: str, frames: int) -> list[dict]:
    video = out / f"{stem}_landmarks.mp4"
    cap = cv2.VideoCapture(str(video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (
        640, 360)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(29.97, abs=0.01)
    cap.release()
    lines = _lines(out / f"{stem}_landmarks.jsonl")
    assert [ln["frame"] for ln in lines] == list(range(frames))
    assert lines[1]["time"] == pytest.approx(1 / 29.97, abs=1e-3)
    return lines


@needs_pretrained
def test_awing_predict_tracks_the_faces_of_the_real_clip(real_data, tmp_path):
    clip = real_data / "video" / "short_hamilton_clip.mp4"
    proc = _run("awing_tf.predict", f"--input={clip}", f"--output_dir={tmp_path}",
                "--max_frames=12", "--detect_every=10")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "12 frames" in proc.stdout and "detector calls" in proc.stdout
    lines = _check_outputs(tmp_path, "short_hamilton_clip", 12)
    faces = [f for ln in lines for f in ln["faces"]]
    assert faces and all(len(f["landmarks"]) == 68 and len(f["confidences"]) == 68
                         and set(f["pose"]) == {"yaw", "pitch", "roll"} for f in faces)
    assert {f["source"] for f in lines[0]["faces"]} == {"detector"}
    assert "tracking" in {f["source"] for ln in lines[1:10] for f in ln["faces"]}
    # identities persist: a face of frame 1 is there in frame 9 under the same id
    assert {f["id"] for f in lines[1]["faces"]} & {f["id"] for f in lines[9]["faces"]}


def test_bad_videos_and_frame_folders_give_clear_messages(tmp_path):
    bad = tmp_path / "clip.mp4"
    bad.write_text("not a video at all\n" * 50)
    proc = _run("awing_tf.predict", f"--input={bad}", f"--output_dir={tmp_path / 'o'}",
                "--model=300w68_mobile")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bad}: cannot open as a video" in proc.stderr
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:04d}.png"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    (frames / "0001.png").write_text("broken frame")
    proc = _run("awing_tf.predict", f"--input={frames}", "--frames",
                f"--output_dir={tmp_path / 'f'}", "--model=300w68_mobile")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 frames skipped (first: frame 1" in proc.stdout
    assert [ln["frame"] for ln in _lines(tmp_path / "f" / "frames_landmarks.jsonl")] == [0, 2]
    proc = _run("awing_tf.predict", f"--input={bad}", f"--output_dir={tmp_path / 'o'}",
                "--bbox=1,2,3,4")
    assert proc.returncode != 0 and "for photos" in proc.stderr


@needs_pretrained
def test_the_tflite_runner_takes_video_too(real_data, tmp_path):
    clip = real_data / "video" / "short_hamilton_clip.mp4"
    proc = _run("export.runner", f"--video={clip}", f"--output_dir={tmp_path}",
                "--max_frames=8")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = _check_outputs(tmp_path, "short_hamilton_clip", 8)
    assert all(len(f["landmarks"]) == 68 for ln in lines for f in ln["faces"])
    assert sum(len(ln["faces"]) for ln in lines) > 0


@pytest.mark.large
@needs_pretrained
def test_awing_predict_on_the_whole_clip_with_no_other_flags(real_data, tmp_path):
    clip = real_data / "video" / "short_hamilton_clip.mp4"
    proc = _run("awing_tf.predict", f"--input={clip}", f"--output_dir={tmp_path}",
                timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = _check_outputs(tmp_path, "short_hamilton_clip", 275)
    assert sum(1 for ln in lines if ln["faces"]) > 250
