"""export.saved_model: both signatures, loaded with TensorFlow only and with saved_model_cli."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from awing_tf.face_crop import map_points  # noqa: E402
from awing_tf.models.face_aligner import FaceAligner  # noqa: E402
from export import runner  # noqa: E402
from export.saved_model import export_saved_model  # noqa: E402

S = 64
K = 68
BIN = os.path.dirname(sys.executable)

# Runs in a fresh interpreter that imports only TensorFlow (and NumPy). ``import tensorflow``
# itself imports the installed Keras package, so the test checks that loading and calling the
# SavedModel imports no further Keras module and no project module.
LOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    before = set(sys.modules)
    export_dir, data = sys.argv[1], np.load(sys.argv[2])
    loaded = tf.saved_model.load(export_dir)
    serve = loaded.signatures["serving_default"]
    align = loaded.signatures["align_image"]
    out = serve(images=tf.constant(data["crops"]))
    aligned = align(image=tf.constant(data["image"]), box=tf.constant(data["box"]))
    aligned_plain = align(image=tf.constant(data["image"]), box=tf.constant(data["plain_box"]))
    np.savez(sys.argv[3], landmarks=out["landmarks"].numpy(), scores=out["scores"].numpy(),
             confidences=out["confidences"].numpy(), aligned=aligned["landmarks"].numpy(),
             aligned_scores=aligned["scores"].numpy(),
             aligned_confidences=aligned["confidences"].numpy(),
             aligned_plain=aligned_plain["landmarks"].numpy())
    mods = [m for m in set(sys.modules) - before
            if m.split(".")[0] in ("keras", "awing_tf", "export", "data_tools")]
    mods += [m for m in sys.modules if m.split(".")[0] in ("awing_tf", "export", "data_tools")]
    print(json.dumps({"modules": mods, "signatures": sorted(loaded.signatures)}))
""")


def _image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 256, (100, 130, 3), dtype=np.uint8), (5, 5), 0)
    cv2.ellipse(image, (60, 50), (25, 35), 0, 0, 360, (210, 170, 150), -1)
    cv2.circle(image, (50, 42), 4, (30, 30, 30), -1)
    cv2.circle(image, (72, 42), 4, (30, 30, 30), -1)
    return image


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``(model, export_dir, inputs, tf-only outputs, subprocess stdout json)``."""
    keras.utils.set_random_seed(0)
    model = FaceAligner.from_preset("tiny")
    root = tmp_path_factory.mktemp("saved_model")
    export_dir = str(root / "export")
    export_saved_model(model, export_dir)
    image = _image()
    x0, y0 = 31, 17
    inputs = {
        "crops": np.stack([image[y0:y0 + S, x0:x0 + S], image[5:5 + S, 40:40 + S]]),
        "image": image,
        "box": np.array([28.3, 12.9, 95.1, 88.4], np.float32),
        # continuous edges of the pixels x0..x0+S-1: the crop is a plain slice (no resampling)
        "plain_box": np.array([x0 - 0.5, y0 - 0.5, x0 + S - 0.5, y0 + S - 0.5], np.float32),
    }
    np.savez(root / "in.npz", **inputs)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    res = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, export_dir, str(root / "in.npz"),
                          str(root / "out.npz")], env=env, capture_output=True, text=True,
                         timeout=120, cwd=str(root))
    assert res.returncode == 0, res.stderr[-3000:]
    info = json.loads(res.stdout.strip().splitlines()[-1])
    return model, export_dir, inputs, dict(np.load(root / "out.npz")), info, root


def test_tf_only_load_imports_no_keras_or_project(exported):
    *_, info, _ = exported
    assert info["modules"] == []
    assert {"serving_default", "align_image"} <= set(info["signatures"])


def test_serving_default_matches_predict_landmarks(exported):
    model, _, inputs, out, *_ = exported
    crops = inputs["crops"].astype(np.float32) / 255.0
    want, want_scores = model.predict_landmarks(crops, return_scores=True)
    assert out["landmarks"].shape == (2, K, 2) and out["landmarks"].dtype == np.float32
    np.testing.assert_allclose(out["landmarks"], want, atol=0.01)
    np.testing.assert_allclose(out["scores"], want_scores, atol=1e-4)


def test_both_signatures_return_calibrated_confidences(exported):
    _, _, _, out, *_ = exported
    # the training Gaussian peaks at 1: confidence = the peak clipped to [0, 1]
    for scores, conf in ((out["scores"], out["confidences"]),
                         (out["aligned_scores"], out["aligned_confidences"])):
        assert conf.shape == scores.shape and conf.dtype == np.float32
        np.testing.assert_allclose(conf, np.minimum(np.maximum(scores, 0.0), 1.0), atol=1e-6)
        assert np.all((conf >= 0) & (conf <= 1))


def test_align_image_plain_slice_box(exported):
    model, _, inputs, out, *_ = exported
    x0, y0 = 31, 17
    want = model.predict_landmarks(inputs["crops"][:1].astype(np.float32) / 255.0)[0]
    assert out["aligned_plain"].shape == (K, 2)
    np.testing.assert_allclose(out["aligned_plain"], want + [x0, y0], atol=0.01)


def test_align_image_matches_manual_crop(exported):
    model, _, inputs, out, *_ = exported
    crop, matrix = runner.crop_image(inputs["image"], inputs["box"], S)
    lm_crop, _ = runner.decode_heatmaps(
        np.asarray(model.landmark_heatmaps(crop[None])), input_size=S)
    want = map_points(np.linalg.inv(matrix), lm_crop[0])
    # OpenCV's bilinear weights are quantized to 1/32 px, TF's are exact: the heatmaps differ
    # slightly, which can move a quarter-pixel decision; most points agree to 0.01 px.
    err = np.linalg.norm(out["aligned"] - want, axis=-1)
    assert np.median(err) <= 0.01
    assert err.max() < 4.0 * 1.5 * (inputs["box"][3] - inputs["box"][1]) / S


def test_saved_model_cli_run(exported):
    model, export_dir, inputs, out, _, root = exported
    np.save(root / "crops.npy", inputs["crops"])
    outdir = root / "cli_out"
    cmd = [os.path.join(BIN, "saved_model_cli"), "run", "--dir", export_dir, "--tag_set",
           "serve", "--signature_def", "serving_default", "--inputs",
           f"images={root / 'crops.npy'}", "--outdir", str(outdir)]
    res = subprocess.run(cmd, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    landmarks = np.load(outdir / "landmarks.npy")
    want = model.predict_landmarks(inputs["crops"].astype(np.float32) / 255.0)
    np.testing.assert_allclose(landmarks, want, atol=0.01)


def test_export_rejects_bad_arguments(tmp_path):
    model = FaceAligner.from_preset("tiny")
    with pytest.raises(ValueError, match="decode"):
        export_saved_model(model, str(tmp_path / "a"), decode="argmax")
    with pytest.raises(ValueError, match="margin"):
        export_saved_model(model, str(tmp_path / "b"), margin=-0.1)


def test_flip_test_export_matches_the_model_and_the_cli_takes_names(tmp_path):
    import tensorflow as tf

    keras.utils.set_random_seed(1)
    model = FaceAligner.from_preset("tiny", num_stacks=1)
    out = str(tmp_path / "flip")
    export_saved_model(model, out, decode="subpixel", flip_test=True)
    serve = tf.saved_model.load(out).signatures["serving_default"]
    crops = np.stack([_image(3)[10:10 + S, 20:20 + S]])
    got = serve(images=tf.constant(crops))["landmarks"].numpy()
    want, _ = model.decode(crops.astype(np.float32) / 255.0, "subpixel", flip_test=True)
    plain, _ = model.decode(crops.astype(np.float32) / 255.0, "subpixel")
    np.testing.assert_allclose(got, want.numpy(), atol=1e-3)
    assert np.abs(got - plain.numpy()).max() > 1e-3  # the flip changed the untrained model
    proc = subprocess.run([sys.executable, "-m", "export.saved_model", "--model=no_such_model",
                           f"--output={tmp_path / 'x'}"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and "--model not found" in proc.stderr


def test_align_image_rejects_bad_inputs_like_the_runner(exported):
    """Channels and boxes are checked in the graph (InvalidArgumentError, the runner's
    words), the dtype by the signature itself. A box partly outside the image is used."""
    import tensorflow as tf

    _, export_dir, inputs, *_ = exported
    align = tf.saved_model.load(export_dir).signatures["align_image"]
    image = tf.constant(inputs["image"])  # 100 x 130
    for box, message in (([50, 40, 20, 80], "box must have x2 > x1 and y2 > y1"),
                         ([30, 30, 30, 60], "box must have x2 > x1 and y2 > y1"),
                         ([200, 10, 260, 70], "box lies outside the image"),
                         ([-80, -90, -10, -5], "box lies outside the image")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            align(image=image, box=tf.constant(box, tf.float32))
    partly = align(image=image, box=tf.constant([100, -20, 170, 50], tf.float32))
    assert np.all(np.isfinite(partly["landmarks"].numpy()))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="expected to be a uint8 tensor but is a float tensor"):
        align(image=tf.constant(inputs["image"], tf.float32) / 255.0,
              box=tf.constant(inputs["box"]))
    for channels in (1, 4):
        bad = tf.constant(np.zeros((100, 130, channels), np.uint8))
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"image must be \(H, W, 3\) uint8"):
            align(image=bad, box=tf.constant(inputs["box"]))
