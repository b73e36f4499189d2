"""Awkward image inputs through read_image, a converter, awing-predict, the batch API and the
TFLite runner: EXIF-rotated JPEGs, grey / RGBA / 16-bit PNGs, CMYK JPEGs, tiny images, bad
boxes, a text file named ``.jpg`` and (``large``) a 12000 x 9000 photo.

One rule for EXIF orientation: annotations and landmarks refer to the image as displayed.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import struct
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from awing_tf.images import read_image  # noqa: E402
from awing_tf.inference.face_detection import detection_copy  # noqa: E402
from tests.conftest import REPO  # noqa: E402

MODEL = "300w68_mobile"


def exif_jpeg(jpeg: bytes, orientation: int) -> bytes:
    """``jpeg`` with an APP1 EXIF segment holding only the orientation tag (0x0112): a
    little-endian TIFF header and one IFD of one SHORT entry, inserted after SOI."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def stored_for(upright_bgr: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera stores for an upright picture with tag 6 (rotate 90 clockwise to
    display) or 8 (rotate 90 counter-clockwise to display)."""
    turn = {6: cv2.ROTATE_90_COUNTERCLOCKWISE, 8: cv2.ROTATE_90_CLOCKWISE}[orientation]
    return cv2.rotate(upright_bgr, turn)


def synthetic_face() -> tuple[np.ndarray, np.ndarray]:
    """``(BGR image 160 x 208, 68 landmarks)``: a synthetic face, padded on the right so the
    picture is not square, with a red dot on the nose tip (landmark 30)."""
    from data_tools.synthetic.render import render_face

    image, points, _, _ = render_face(np.random.default_rng(4), "300w68", 160)
    image = np.ascontiguousarray(np.pad(image, ((0, 0), (0, 48), (0, 0)), mode="edge"))
    cv2.circle(image, tuple(int(round(v)) for v in points[30]), 4, (0, 0, 255), -1)
    return image, points.astype(np.float32)


def tight_box(points: np.ndarray) -> str:
    return ",".join(f"{v:.1f}" for v in (*points.min(0), *points.max(0)))


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_face()


def _write_tagged(path: pathlib.Path, upright: np.ndarray, orientation: int) -> None:
    ok, buf = cv2.imencode(".jpg", stored_for(upright, orientation),
                           [cv2.IMWRITE_JPEG_QUALITY, 97])
    assert ok
    path.write_bytes(exif_jpeg(buf.tobytes(), orientation))


@pytest.mark.parametrize("orientation", [6, 8])
def test_read_image_returns_the_displayed_picture(face, tmp_path, orientation):
    import tensorflow as tf

    upright, _ = face
    path = tmp_path / "tagged.jpg"
    _write_tagged(path, upright, orientation)
    got = read_image(str(path))
    assert got.shape == upright.shape
    assert np.abs(got.astype(int) - upright[..., ::-1]).mean() < 3.0
    # TensorFlow's decoder ignores the tag: the reason converters store upright pixels
    assert tf.io.decode_image(path.read_bytes(), channels=3).shape == (208, 160, 3)


def test_converter_stores_upright_pixels_that_match_the_annotation(face, tmp_path):
    import tensorflow as tf

    from data_tools.convert_300w import convert_300w
    from data_tools.writing import OutputSpec
    from tests.test_records import read_back

    upright, points = face
    src = tmp_path / "src"
    src.mkdir()
    _write_tagged(src / "phone.jpg", upright, 6)
    (src / "phone.pts").write_text("version: 1\nn_points: 68\n{\n" + "".join(
        f"{x:.3f} {y:.3f}\n" for x, y in points) + "}\n")
    summary = convert_300w(src, OutputSpec(str(tmp_path / "out")))
    assert summary.total_written == 1
    (record,) = read_back(tmp_path / "out-*", 68)
    assert record["image_bytes"].startswith(b"\x89PNG")  # re-encoded upright, lossless
    pixels = tf.io.decode_image(record["image_bytes"], channels=3).numpy()  # as the pipeline
    assert pixels.shape == upright.shape
    assert np.abs(pixels.astype(int) - upright[..., ::-1]).mean() < 3.0
    np.testing.assert_allclose(record["landmarks"], points, atol=1e-3)
    x, y = np.round(record["landmarks"][30]).astype(int)
    r, g, b = pixels[y, x].astype(int)
    assert r > 180 and g < 90 and b < 90  # the annotated nose tip is on the red dot


def _bad_inputs(folder: pathlib.Path, upright: np.ndarray) -> None:
    """Images of every awkward kind, all containing ``upright``'s face at the same place."""
    from PIL import Image

    folder.mkdir()
    _write_tagged(folder / "a_exif6.jpg", upright, 6)
    cv2.imwrite(str(folder / "b_upright.png"), upright)
    cv2.imwrite(str(folder / "c_grey.png"), cv2.cvtColor(upright, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "d_rgba.png"), cv2.cvtColor(upright, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(folder / "e_16bit.png"), upright.astype(np.uint16) * 257)
    rgb = Image.fromarray(np.ascontiguousarray(upright[..., ::-1]))
    rgb.convert("CMYK").save(folder / "f_cmyk.jpg", "JPEG", quality=97)
    cv2.imwrite(str(folder / "g_tiny.png"), cv2.resize(upright, (8, 8)))
    (folder / "h_notes.jpg").write_text("not an image")
    (folder / "i_empty.jpg").write_bytes(b"")


def test_read_image_converts_every_kind_to_rgb(face, tmp_path):
    pytest.importorskip("PIL", reason="PIL builds the CMYK JPEG")
    upright, _ = face
    _bad_inputs(tmp_path / "in", upright)
    want = upright[..., ::-1].astype(int)
    for name in ("a_exif6.jpg", "b_upright.png", "d_rgba.png", "e_16bit.png", "f_cmyk.jpg"):
        got = read_image(str(tmp_path / "in" / name))
        assert got.shape == upright.shape and got.dtype == np.uint8, name
        assert np.abs(got.astype(int) - want).mean() < 3.0, name
    np.testing.assert_array_equal(read_image(str(tmp_path / "in" / "e_16bit.png")), want)
    grey = read_image(str(tmp_path / "in" / "c_grey.png"))
    assert grey.shape == upright.shape and np.all(grey == grey[..., :1])
    assert read_image(str(tmp_path / "in" / "g_tiny.png")).shape == (8, 8, 3)
    for name, problem in (("h_notes.jpg", "not an image format"), ("i_empty.jpg", "empty")):
        with pytest.raises(ValueError, match=f"{name}: not a readable image.*{problem}"):
            read_image(str(tmp_path / "in" / name))


def test_awing_predict_folder_of_awkward_inputs(face, tmp_path):
    """One --bbox for all: every readable kind gives the displayed image's landmarks, the
    bad files are named and skipped, no traceback."""
    pytest.importorskip("PIL", reason="PIL builds the CMYK JPEG")
    upright, points = face
    _bad_inputs(tmp_path / "in", upright)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "awing_tf.predict", f"--model={MODEL}",
         f"--input={tmp_path / 'in'}", f"--output_dir={out}", f"--bbox={tight_box(points)}"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    index = json.loads((out / "landmarks.json").read_text())
    problems = {pathlib.Path(p).name: m for p, m in index["problems"].items()}
    assert "not a readable image" in problems.pop("h_notes.jpg")
    assert "empty file" in problems.pop("i_empty.jpg")
    assert "lies outside the 8x8 image" in problems.pop("g_tiny.png")
    assert problems == {}
    landmarks = {}
    for path, entry in index["images"].items():
        data = json.loads(pathlib.Path(entry["json"]).read_text())
        assert data["size"] == [160, 208]
        landmarks[pathlib.Path(path).name] = np.array(data["faces"][0]["landmarks"])
    reference = landmarks.pop("b_upright.png")
    for name, lm in landmarks.items():  # the tagged JPEG: displayed-image pixels
        assert np.linalg.norm(lm - reference, axis=-1).mean() < 1.5, name
    for name in ("h_notes.jpg", "i_empty.jpg", "g_tiny.png"):
        assert f"{name}: skipped" in proc.stdout


@pytest.fixture(scope="module")
def model():
    from awing_tf.models.loading import load_model

    return load_model(MODEL)


def test_boxes_and_tiny_images_in_the_library(model, face, tmp_path, monkeypatch):
    """predict_paths names the file and the box problem and carries on; the batch API
    raises ValueError with the same words; a box partly outside is used."""
    from awing_tf.inference.photos import predict_paths

    monkeypatch.setattr("awing_tf.models.loading.load_model", lambda _: model)
    upright, points = face
    names = ("ok", "partly", "outside", "zero", "inverted", "tiny")
    for name in names[:-1]:
        cv2.imwrite(str(tmp_path / f"{name}.png"), upright)
    cv2.imwrite(str(tmp_path / "tiny.png"), upright[:8, :8])
    box = np.r_[points.min(0), points.max(0)].astype(np.float32)
    boxes = {"ok.png": box[None], "partly.png": (box - [90, 0, 90, 0])[None],
             "outside.png": np.array([[300, 10, 400, 90]], np.float32),
             "zero.png": np.array([[50, 50, 50, 90]], np.float32),
             "inverted.png": np.array([[120, 50, 40, 90]], np.float32)}
    index = predict_paths(MODEL, [str(tmp_path / f"{n}.png") for n in names],
                          str(tmp_path / "out"), boxes=boxes)
    problems = {pathlib.Path(p).stem: m for p, m in index["problems"].items()}
    assert set(problems) == {"outside", "zero", "inverted", "tiny"}
    assert problems["outside"].startswith(str(tmp_path / "outside.png"))
    assert "box lies outside the 208x160 image" in problems["outside"]
    for name in ("zero", "inverted"):
        assert "box must have x2 > x1 and y2 > y1" in problems[name]
    assert "no box for" in problems["tiny"]
    assert {pathlib.Path(p).stem for p in index["images"]} == {"ok", "partly"}
    image = upright[..., ::-1].copy()
    for bad, message in ((boxes["outside.png"], "box lies outside the 208x160 image"),
                         (boxes["zero.png"], "x2 > x1 and y2 > y1"),
                         (boxes["inverted.png"], "x2 > x1 and y2 > y1")):
        with pytest.raises(ValueError, match=rf"boxes\[0\]\[0\]: .*{message}"):
            model.align(image, bad)
    (partly,) = model.align(image, boxes["partly.png"])
    assert np.all(np.isfinite(partly.landmarks))
    assert model.align(np.ascontiguousarray(image[:8, :8])) == []  # detector: no face


def test_runner_landmarks_are_in_displayed_pixels(face, tmp_path):
    """export.runner reads the tagged JPEG as displayed: the same landmarks as the upright
    picture, and the box checks of the SavedModel."""
    from awing_tf import pretrained
    from export.runner import TFLiteLandmarker

    upright, points = face
    _write_tagged(tmp_path / "tagged.jpg", upright, 8)
    cv2.imwrite(str(tmp_path / "upright.png"), upright)
    info = pretrained.manifest(MODEL)
    landmarker = TFLiteLandmarker(pretrained.file_path(MODEL, "tflite"),
                                  margin=float(info.get("crop_margin") or 0.0))
    box = np.r_[points.min(0), points.max(0)].astype(np.float32)
    got = landmarker(read_image(str(tmp_path / "tagged.jpg")), box)
    want = landmarker(read_image(str(tmp_path / "upright.png")), box)
    assert np.linalg.norm(got - want, axis=-1).mean() < 1.5
    with pytest.raises(ValueError, match="box lies outside the 208x160 image"):
        landmarker(read_image(str(tmp_path / "upright.png")), np.array([300, 10, 400, 90]))


def test_detection_copy_of_a_large_image():
    small, scale = detection_copy(np.zeros((9000, 12000, 3), np.uint8))
    assert small.shape == (1536, 2048, 3) and scale == pytest.approx(2048 / 12000)
    image = np.zeros((100, 120, 3), np.uint8)
    assert detection_copy(image) == (image, 1.0)


@pytest.mark.large
def test_huge_photo_detects_on_a_copy_and_stays_under_2gb(real_data, tmp_path):
    """A 12000 x 9000 JPEG with one face: detected on the downscaled copy, aligned at full
    resolution, the awing-predict process peaking under 2 GB."""
    photos = sorted((real_data / "smoke_real" / "dlib_faces").glob("*.jpg"))
    if not photos:
        pytest.skip("no dlib photos")
    face = cv2.imread(str(photos[0]))
    scale = 3000 / max(face.shape[:2])
    face = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    canvas = np.full((9000, 12000, 3), 90, np.uint8)
    canvas[4000:4000 + face.shape[0], 6000:6000 + face.shape[1]] = face
    path = tmp_path / "huge.jpg"
    cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 85])
    del canvas
    proc = subprocess.run([sys.executable, "-m", "awing_tf.predict", f"--model={MODEL}",
                           f"--input={path}", f"--output_dir={tmp_path / 'out'}"],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    index = json.loads((tmp_path / "out" / "landmarks.json").read_text())
    (entry,) = index["images"].values()
    data = json.loads(pathlib.Path(entry["json"]).read_text())
    assert data["size"] == [9000, 12000]
    lm = np.array(data["faces"][0]["landmarks"])
    assert np.all((lm >= [6000, 4000]) & (lm <= [6000 + face.shape[1], 4000 + face.shape[0]]))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
    assert peak_kb < 2 * 1024 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"
