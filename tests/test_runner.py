"""export.runner: NumPy decode == codec.decode_heatmaps, crop convention, end-to-end runs."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from awing_tf.codec import decode_heatmaps  # noqa: E402
from awing_tf.codec.coordinates import to_heatmap_coords, to_input_coords  # noqa: E402
from awing_tf.codec.gaussian import gaussian_heatmaps  # noqa: E402
from awing_tf.data import geometry  # noqa: E402
from awing_tf.face_crop import map_points  # noqa: E402
from awing_tf.models.face_aligner import FaceAligner  # noqa: E402
from export import runner, tflite  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tf_decode(heatmaps: tf.Tensor, method: str, input_size: int | None = None):
    """The library's decode, in input pixels when ``input_size`` is given."""
    xy, scores = decode_heatmaps(heatmaps, method)
    if input_size is not None:
        xy = to_input_coords(xy, input_size=input_size, heatmap_size=heatmaps.shape[1])
    return xy, scores


def _peaked_heatmaps(rng: np.random.Generator, b: int = 3, k: int = 7, h: int = 16,
                     s: int = 64) -> np.ndarray:
    """Gaussian heatmaps ``(b, h, h, k)`` incl. peaks on the border, plus a little noise."""
    pts = rng.uniform(-1.0, s, (b, k, 2)).astype(np.float32)
    pts[0, 0] = (0.0, 0.0)  # corner argmax: no quarter shift
    pts[0, 1] = (s - 1.0, 30.0)  # right border
    pts_h = to_heatmap_coords(pts, input_size=s, heatmap_size=h)
    hm = gaussian_heatmaps(pts_h, np.ones((b, k)), size=h, sigma=1.5).numpy()
    return hm + rng.uniform(0.0, 0.02, hm.shape).astype(np.float32)


@pytest.mark.parametrize("method", ["quarter_offset", "subpixel"])
@pytest.mark.parametrize("input_size", [None, 64])
def test_numpy_decode_matches_codec(method, input_size):
    rng = np.random.default_rng(0)
    for hm in (_peaked_heatmaps(rng), rng.uniform(0, 1, (2, 8, 8, 5)).astype(np.float32),
               np.zeros((1, 4, 4, 2), np.float32)):
        size = None if input_size is None else hm.shape[1] * 4
        ref_xy, ref_s = tf_decode(tf.constant(hm), method=method, input_size=size)
        xy, s = runner.decode_heatmaps(hm, method=method, input_size=size)
        np.testing.assert_allclose(xy, ref_xy.numpy(), atol=1e-5)
        np.testing.assert_allclose(s, ref_s.numpy(), atol=1e-7)


def test_numpy_decode_rejects_bad_input():
    with pytest.raises(ValueError, match="decode method"):
        runner.decode_heatmaps(np.zeros((1, 4, 4, 1)), method="argmax")
    with pytest.raises(ValueError, match=r"\(B, h, w, K\)"):
        runner.decode_heatmaps(np.zeros((4, 4, 1)))


def test_importing_the_runner_imports_no_tensorflow():
    code = ("import sys, export.runner; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'ai_edge_litert') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("margin", [0.0, 0.1])
def test_crop_matrix_matches_pipeline(margin):
    box = np.array([12.3, 20.0, 90.7, 110.2], np.float32)
    ref = geometry.crop_matrix(tf.constant(box), 64, margin).numpy()
    np.testing.assert_allclose(runner.crop_matrix(box, 64, margin), ref, rtol=1e-6, atol=1e-4)


def test_crop_image_matches_pipeline_warp():
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8), (5, 5), 0)
    box = np.array([30.2, 10.7, 95.0, 70.1], np.float32)
    crop, matrix = runner.crop_image(image, box, 64)
    ref = geometry.warp_image(tf.constant(image, tf.float32) / 255.0,
                             tf.constant(matrix, tf.float32), 64).numpy()
    # OpenCV quantizes bilinear weights to 1/32 px; TF interpolates exactly.
    assert np.abs(crop - ref).mean() < 2e-3
    assert np.abs(crop[2:-2, 2:-2] - ref[2:-2, 2:-2]).max() < 0.03


def test_square_box_of_input_size_is_a_plain_slice():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (80, 100, 3), dtype=np.uint8)
    x0, y0 = 17, 9
    box = np.array([x0 - 0.5, y0 - 0.5, x0 + 63.5, y0 + 63.5])
    crop, matrix = runner.crop_image(image, box, 64)
    np.testing.assert_allclose(crop, image[y0:y0 + 64, x0:x0 + 64] / 255.0, atol=1e-6)
    back = map_points(np.linalg.inv(matrix), [[0.0, 0.0], [63.0, 63.0]])
    np.testing.assert_allclose(back, [[x0, y0], [x0 + 63, y0 + 63]], atol=1e-9)


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = FaceAligner.from_preset("tiny")
    path = tmp_path_factory.mktemp("runner") / "tiny_float32.tflite"
    path.write_bytes(tflite.convert(model, "float32"))
    return model, str(path)


def _face_image(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 256, (120, 150, 3), dtype=np.uint8), (7, 7), 0)
    cv2.ellipse(image, (70, 60), (30, 40), 0, 0, 360, (200, 160, 140), -1)
    return image


def test_landmarker_matches_keras_on_the_same_crop(tiny_tflite):
    model, path = tiny_tflite
    image = _face_image()
    box = np.array([38.0, 18.0, 104.0, 103.0], np.float32)
    landmarker = runner.TFLiteLandmarker(path, num_threads=2)
    assert landmarker.input_size == 64
    got = landmarker(image, box)
    crop, matrix = runner.crop_image(image, box, 64)
    want_crop = model.predict_landmarks(crop[None])[0]
    want = map_points(np.linalg.inv(matrix), want_crop)
    assert got.shape == (68, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_landmarker_errors(tiny_tflite, tmp_path):
    _, path = tiny_tflite
    with pytest.raises(FileNotFoundError, match="not found"):
        runner.TFLiteLandmarker(str(tmp_path / "missing.tflite"))
    landmarker = runner.TFLiteLandmarker(path)
    with pytest.raises(ValueError, match="uint8"):
        landmarker(np.zeros((10, 10), np.uint8), np.array([0, 0, 5, 5]))
    with pytest.raises(ValueError, match="box"):
        landmarker(np.zeros((10, 10, 3), np.uint8), np.array([0, 0, 5]))


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "export.runner", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_writes_annotated_png(tiny_tflite, tmp_path):
    _, path = tiny_tflite
    image_path = tmp_path / "face.jpg"
    cv2.imwrite(str(image_path), _face_image())
    out = tmp_path / "annotated.png"
    res = _run_cli(f"--tflite={path}", f"--image={image_path}", "--bbox=38,18,104,103",
                   f"--output={out}")
    assert res.returncode == 0, res.stderr
    annotated = cv2.imread(str(out))
    assert annotated.shape == (120, 150, 3)
    assert "68 landmarks" in res.stdout


def test_cli_clear_errors(tiny_tflite, tmp_path):
    _, path = tiny_tflite
    res = _run_cli(f"--tflite={path}", f"--image={tmp_path / 'nope.png'}",
                   f"--output={tmp_path / 'o.png'}")
    assert res.returncode != 0 and "image not found" in res.stderr
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    res = _run_cli(f"--tflite={path}", f"--image={text}", f"--output={tmp_path / 'o.png'}")
    assert res.returncode != 0 and "not an image" in res.stderr
    image_path = tmp_path / "face.png"
    cv2.imwrite(str(image_path), _face_image())
    res = _run_cli(f"--tflite={path}", f"--image={image_path}", "--bbox=1,2,3",
                   f"--output={tmp_path / 'o.png'}")
    assert res.returncode != 0 and "--bbox must be" in res.stderr


def test_landmarker_rejects_what_the_saved_model_rejects(tiny_tflite):
    """The same inputs and words as the SavedModel's ``align_image`` (ValueError here)."""
    _, path = tiny_tflite
    landmarker = runner.TFLiteLandmarker(path)
    image = _face_image()  # 120 x 150
    for box, message in (([50, 40, 20, 80], "box must have x2 > x1 and y2 > y1"),
                         ([30, 30, 30, 60], "box must have x2 > x1 and y2 > y1"),
                         ([200, 10, 260, 70], "box lies outside the 150x120 image"),
                         ([-80, -90, -10, -5], "box lies outside the 150x120 image")):
        with pytest.raises(ValueError, match=message):
            landmarker.align(image, np.array(box, np.float32))
    lm, conf = landmarker.align(image, np.array([100, -20, 170, 50], np.float32))
    assert np.all(np.isfinite(lm)) and np.all((conf >= 0) & (conf <= 1))
    box = np.array([38, 18, 104, 103], np.float32)
    for bad in (image.astype(np.float32) / 255.0, image[..., :1],
                np.dstack([image, image[..., :1]])):
        with pytest.raises(ValueError, match=r"must be \(H, W, 3\) uint8"):
            landmarker.align(bad, box)


def test_cli_names_the_file_for_a_box_outside_the_image(tiny_tflite, tmp_path):
    _, path = tiny_tflite
    image_path = tmp_path / "face.png"
    cv2.imwrite(str(image_path), _face_image())
    res = _run_cli(f"--tflite={path}", f"--image={image_path}", "--bbox=300,10,360,70",
                   f"--output={tmp_path / 'o.png'}")
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert f"{image_path}: box lies outside the 150x120 image" in res.stderr
