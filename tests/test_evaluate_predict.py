"""The evaluate and predict apps end to end on a tiny model and synthetic faces."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

import awing_tf
from awing_tf.metrics import auc, failure_rate
from data_tools.synthetic import write_synthetic


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("apps")
    write_synthetic(str(root / "faces"), 24, "300w68", image_size=96, num_shards=1, seed=3)
    model = awing_tf.FaceAligner.from_preset("tiny", num_stacks=1)
    model.save(root / "model.keras")
    return root


def _run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_evaluate_writes_a_consistent_report(assets):
    out = assets / "eval"
    proc = _run("awing_tf.evaluate", f"--model={assets / 'model.keras'}",
                f"--records={assets / 'faces'}-*", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "NME (%)" in proc.stdout and "AUC@10%" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert (out / "ced.png").stat().st_size > 1000
    nmes = np.array([r["nme"] for r in report["per_image"]]) / 100
    assert report["count"] == len(nmes) == 24
    assert report["nme"] == pytest.approx(nmes.mean() * 100)
    assert report["fr_10"] == pytest.approx(failure_rate(nmes, 0.1) * 100)
    assert report["auc_8"] == pytest.approx(auc(nmes, 0.08))
    assert report["normalizer"] == "inter_ocular"


def test_evaluate_bad_inputs_give_clear_messages(assets, tmp_path):
    from awing_tf.evaluation import evaluate

    proc = _run("awing_tf.evaluate", f"--model={tmp_path / 'missing.keras'}",
                f"--records={assets / 'faces'}-*", f"--output_dir={tmp_path}")
    assert proc.returncode == 2 and "missing.keras" in proc.stderr
    assert "Traceback" not in proc.stderr
    with pytest.raises(ValueError, match="nothing"):
        evaluate(str(assets / "model.keras"), str(tmp_path / "nothing-*"), str(tmp_path))


def _faces(index: dict, image) -> list[dict]:
    """The faces of ``image`` from the per-image JSON that the index ``landmarks.json``
    names."""
    entry = index["images"][str(image)]
    faces = json.loads(open(entry["json"]).read())["faces"]
    assert entry["faces"] == len(faces)
    return faces


def test_predict_maps_landmarks_to_image_pixels_and_reports_problems(assets, tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (90, 120, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "img.png"), image)
    (tmp_path / "notes.png").write_text("not an image")
    out = tmp_path / "pred"
    proc = _run("awing_tf.predict", f"--model={assets / 'model.keras'}", f"--input={tmp_path}",
                f"--output_dir={out}", "--bbox=20,10,84,74")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((out / "landmarks.json").read_text())
    faces = _faces(result, tmp_path / "img.png")
    lm = np.array(faces[0]["landmarks"])
    assert lm.shape == (68, 2)
    # The 64 px box maps onto the 64 px crop 1:1, so landmarks lie inside the box's pixels.
    assert np.all((lm[:, 0] >= 19.5) & (lm[:, 0] <= 84.5))
    assert np.all((lm[:, 1] >= 9.5) & (lm[:, 1] <= 74.5))
    assert (out / "img_landmarks.png").exists()
    assert "not a readable image" in result["problems"][str(tmp_path / "notes.png")]


def test_predict_without_a_face_says_so(assets, tmp_path):
    from awing_tf.inference.photos import PredictError, list_inputs, parse_bbox, predict_paths

    cv2.imwrite(str(tmp_path / "blank.png"), np.full((120, 120, 3), 128, np.uint8))
    result = predict_paths(str(assets / "model.keras"), [str(tmp_path / "blank.png")],
                           str(tmp_path / "o"))
    assert "no face found" in result["problems"][str(tmp_path / "blank.png")]
    assert result["images"] == {}
    with pytest.raises(PredictError, match="not four numbers|x1,y1,x2,y2"):
        parse_bbox(["1", "2", "3"])
    with pytest.raises(PredictError, match="no such file"):
        list_inputs(str(tmp_path / "x.png"))


def test_evaluate_flip_test_averages_the_mirrored_view(assets):
    from awing_tf.config import Config
    from awing_tf.evaluation import predict_records
    from awing_tf.metrics import nme, normalizer_distance
    from awing_tf.models.face_aligner import load_aligner

    out = assets / "eval_flip"
    proc = _run("awing_tf.evaluate", f"--model={assets / 'model.keras'}", "--flip_test",
                f"--records={assets / 'faces'}-*", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "flip test" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["flip_test"] is True
    model = load_aligner(str(assets / "model.keras"))
    cfg = Config.for_model(model.model_config)
    got = np.array([r["nme"] for r in report["per_image"]]) / 100
    for flip, close in ((True, True), (False, False)):
        pred = predict_records(model, f"{assets / 'faces'}-*", cfg, flip_test=flip)
        want = nme(pred["pred"], pred["gt"], normalizer_distance(pred["gt"], "300w68"))
        assert np.allclose(got, want, atol=1e-6) is close


def test_predict_takes_several_boxes_per_photo_from_a_box_file(assets, tmp_path):
    from awing_tf.box_files import read_box_file

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    cv2.imwrite(str(photos / "two.png"), rng.integers(0, 255, (90, 160, 3), np.uint8))
    cv2.imwrite(str(photos / "none.png"), rng.integers(0, 255, (50, 50, 3), np.uint8))
    boxes = tmp_path / "boxes.txt"
    boxes.write_text("two.png 20 10 84 74\n\ntwo.png 90.5 12 150.5 72\n")
    assert read_box_file(boxes)["two.png"].shape == (2, 4)
    out = tmp_path / "pred"
    proc = _run("awing_tf.predict", f"--model={assets / 'model.keras'}", f"--input={photos}",
                f"--output_dir={out}", f"--boxes_file={boxes}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((out / "landmarks.json").read_text())
    faces = _faces(result, photos / "two.png")
    assert [f["box"] for f in faces] == [[20, 10, 84, 74], [90.5, 12, 150.5, 72]]
    assert "no box for" in result["problems"][str(photos / "none.png")]
    # The first face is what --bbox gives for the same box.
    single = tmp_path / "single"
    proc = _run("awing_tf.predict", f"--model={assets / 'model.keras'}",
                f"--input={photos / 'two.png'}", f"--output_dir={single}",
                "--bbox=20,10,84,74")
    assert proc.returncode == 0, proc.stderr[-2000:]
    one = json.loads((single / "landmarks.json").read_text())
    np.testing.assert_allclose(
        _faces(one, photos / "two.png")[0]["landmarks"],
        faces[0]["landmarks"], atol=1e-3)
    for text, message in (("a 1 2 3\n", "expected 'NAME x1 y1 x2 y2'"),
                          ("a 1 2 x 4\n", "must be numbers"), ("a 5 5 1 9\n", "x2 > x1")):
        boxes.write_text(text)
        with pytest.raises(ValueError, match=message):
            read_box_file(boxes)
