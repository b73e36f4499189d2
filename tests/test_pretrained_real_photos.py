"""The shipped pretrained models on real photos, from a fresh checkout with no other step:
``awing-predict`` without ``--model`` on dlib's example photos (43 annotated faces on 9
photos), boxes from the annotated landmarks through ``--boxes_file``."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from awing_tf import pretrained
from awing_tf.metrics import nme, normalizer_distance
from tests.conftest import REPO

# Mean inter-ocular NME bound on these 43 faces, a margin above what the shipped
# 300w68_compact measured (README, "Pretrained models").
NME_BOUND = 4.5


def _faces(folder) -> list[tuple[str, np.ndarray]]:
    faces = []
    for xml in ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"):
        for image in ET.parse(folder / xml).getroot().iter("image"):
            for box in image.iter("box"):
                parts = sorted(box.iter("part"), key=lambda p: int(p.get("name")))
                pts = np.array([[float(p.get("x")), float(p.get("y"))] for p in parts])
                faces.append((image.get("file"), pts))
    return faces


@pytest.mark.skipif("300w68_compact" not in pretrained.available(),
                    reason="the pretrained 300w68_compact is not installed")
def test_awing_predict_without_a_model_aligns_the_dlib_photos(real_data, tmp_path):
    folder = real_data / "smoke_real" / "dlib_faces"
    faces = _faces(folder)
    assert len(faces) == 43
    boxes = tmp_path / "boxes.txt"
    boxes.write_text("".join(
        f"{name} {' '.join(f'{v:.2f}' for v in (*pts.min(0), *pts.max(0)))}\n"
        for name, pts in faces))
    out = tmp_path / "pred"
    proc = subprocess.run([sys.executable, "-m", "awing_tf.predict", f"--input={folder}",
                           f"--boxes_file={boxes}", f"--output_dir={out}"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "landmarks.json").read_text())
    assert result["model"] == "300w68_compact"
    pred, gt = [], []
    for name in sorted({n for n, _ in faces}):
        annotated = [pts for n, pts in faces if n == name]
        entry = result["images"][str(folder / name)]
        got = json.loads(open(entry["json"]).read())["faces"]
        assert len(got) == len(annotated)
        pred += [np.array(f["landmarks"]) for f in got]
        gt += annotated
    errors = nme(np.stack(pred), np.stack(gt), normalizer_distance(np.stack(gt), "300w68"))
    print(f"pretrained 300w68_compact on the dlib photos: mean NME {errors.mean() * 100:.2f} %, "
          f"median {np.median(errors) * 100:.2f} %")
    assert errors.mean() * 100 < NME_BOUND


@pytest.mark.large  # six command-line apps, one of them fine-tuning with QAT
@pytest.mark.skipif("300w68_compact" not in pretrained.available(),
                    reason="the pretrained 300w68_compact is not installed")
def test_every_entry_point_takes_the_pretrained_names(real_data, tmp_path):
    import awing_tf

    model = awing_tf.FaceAligner.from_pretrained("300w68_compact")
    info = pretrained.manifest("300w68_compact")
    assert (model.spec.scheme, model.spec.input_size) == (info["scheme"], info["input_size"])
    assert info["files"]["keras"]["sha256"] == pretrained.sha256(
        pretrained.file_path("300w68_compact"))
    image = real_data / "smoke_real" / "dlib_faces" / "2008_002470.jpg"
    runner = subprocess.run([sys.executable, "-m", "export.runner", f"--image={image}",
                             "--bbox=274,181,326,234", f"--output={tmp_path / 'a.png'}"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert runner.returncode == 0, runner.stderr[-2000:]
    assert "68 landmarks" in runner.stdout and (tmp_path / "a.png").is_file()
    saved = subprocess.run([sys.executable, "-m", "export.saved_model", "--model=300w68_compact",
                            f"--output={tmp_path / 'sm'}"], cwd=REPO, capture_output=True,
                           text=True, timeout=600)
    assert saved.returncode == 0, saved.stderr[-2000:]
    assert (tmp_path / "sm" / "saved_model.pb").is_file()
    xml = real_data / "smoke_real" / "dlib_faces" / "testing_with_face_landmarks.xml"
    convert = subprocess.run([sys.executable, "-m", "data_tools.convert_generic",
                              f"--input={xml}", f"--output={tmp_path / 'dlib'}",
                              "--scheme=300w68"], cwd=REPO, capture_output=True, text=True,
                             timeout=300)
    assert convert.returncode == 0, convert.stderr[-2000:]
    evaluate = subprocess.run([sys.executable, "-m", "awing_tf.evaluate",
                               "--model=300w68_compact", f"--records={tmp_path / 'dlib'}-*",
                               "--flip_test", f"--output_dir={tmp_path / 'eval'}"], cwd=REPO,
                              capture_output=True, text=True, timeout=600)
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["count"] == 25 and report["model"].endswith("300w68_compact.keras")
    records = f"--train_records={tmp_path / 'dlib'}-*"
    for command, output in [
            (["export.tflite", "--quantize=float16"], "m16.tflite"),
            (["export.qat", records, f"--representative_records={tmp_path / 'dlib'}-*",
              "--config=mobile", "--epochs=1", "--steps_per_epoch=2", "--batch_size=4",
              "--num_calibration=8"], "qat.keras")]:
        proc = subprocess.run([sys.executable, "-m", *command, "--model=300w68_mobile",
                               f"--output={tmp_path / output}"], cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert (tmp_path / output).stat().st_size > 100_000
    # QAT keeps the pretrained model's crop margin (from its manifest) beside its output
    qat_config = json.loads((tmp_path / "config.json").read_text())
    assert qat_config["data"]["crop_margin"] == pretrained.manifest("300w68_mobile")["crop_margin"]


# Detector boxes on the dlib photos: faces found by awing-predict without any box, and the
# NME bound over them (a margin above what bench/detect.py's pretrained check measured).
MIN_FOUND = 41
DETECTED_NME_BOUND = 4.6


@pytest.mark.skipif("300w68_compact" not in pretrained.available(),
                    reason="the pretrained 300w68_compact is not installed")
def test_awing_predict_finds_the_faces_itself(real_data, tmp_path):
    from bench.detection_data import match_faces, tight_boxes

    folder = real_data / "smoke_real" / "dlib_faces"
    faces = _faces(folder)
    out = tmp_path / "pred"
    proc = subprocess.run([sys.executable, "-m", "awing_tf.predict", f"--input={folder}",
                           f"--output_dir={out}", "--batch_size=4"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    index = json.loads((out / "landmarks.json").read_text())
    assert index["detector"] == "blazeface"
    pred, gt, false_positives = [], [], 0
    for name in sorted({n for n, _ in faces}):
        annotated = np.stack([pts for n, pts in faces if n == name])
        entry = index["images"].get(str(folder / name))
        got = json.loads(open(entry["json"]).read())["faces"] if entry else []
        for face in got:
            conf = np.array(face["confidences"])
            assert conf.shape == (68,) and np.all((conf >= 0) & (conf <= 1))
            assert set(face["pose"]) == {"yaw", "pitch", "roll"}
            assert 0.5 <= face["detector_score"] <= 1
        boxes = np.array([f["box"] for f in got]).reshape(-1, 4)
        pairs = match_faces(boxes, tight_boxes(annotated))
        false_positives += len(got) - len(pairs)
        pred += [np.array(got[d]["landmarks"]) for d, _ in pairs]
        gt += [annotated[f] for _, f in pairs]
    assert len(pred) >= MIN_FOUND and false_positives <= 1
    errors = nme(np.stack(pred), np.stack(gt), normalizer_distance(np.stack(gt), "300w68"))
    print(f"detector boxes: {len(pred)} of {len(faces)} faces found, {false_positives} false "
          f"positives, mean NME {errors.mean() * 100:.2f} %")
    assert errors.mean() * 100 < DETECTED_NME_BOUND
    # the TFLite runner finds them too, and writes confidences and pose
    photo = folder / "2008_002470.jpg"
    runner = subprocess.run([sys.executable, "-m", "export.runner", f"--image={photo}",
                             f"--output={tmp_path / 'r.png'}", f"--json={tmp_path / 'r.json'}"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert runner.returncode == 0, runner.stderr[-2000:]
    found = json.loads((tmp_path / "r.json").read_text())["faces"]
    want = np.stack([pts for n, pts in faces if n == photo.name])
    assert len(match_faces(np.array([f["box"] for f in found]), tight_boxes(want))) == len(want)
    assert all(len(f["confidences"]) == 68 and f["pose"] for f in found)
