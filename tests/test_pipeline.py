"""The tf.data pipeline on records built from real 300W faces."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from awing_tf.codec import HeatmapCodec, decode_heatmaps
from awing_tf.config import Config, DataConfig, HeatmapSpec, ModelConfig, TrainConfig
from awing_tf.data import pipeline as P
from data_tools.records import FaceRecord, write_records

REPO = pathlib.Path(__file__).resolve().parents[1]
NUM_FACES = 8
IDENTITY_ID = "identity"  # a record whose box is exactly the image frame


def _read_pts(path: pathlib.Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    rows = lines[lines.index("{") + 1:lines.index("}")]
    return np.array([[float(v) for v in ln.split()] for ln in rows], np.float32)


@pytest.fixture(scope="module")
def faces() -> list[FaceRecord]:
    root = pathlib.Path(os.environ.get("AWING_DATA", REPO.parent / "shared" / "data"))
    common = root / "300w_common"
    if not common.is_dir():
        pytest.skip(f"real data not found at {common} (set AWING_DATA)")
    boxes = {}
    for line in (common / "bbox.txt").read_text().splitlines():
        name, *vals = line.split()
        boxes[name] = [float(v) for v in vals]
    names = sorted(boxes)[:NUM_FACES // 2] + sorted(boxes)[-NUM_FACES // 2:]  # HELEN + LFPW
    records = []
    for i, name in enumerate(names):
        path = common / name
        records.append(FaceRecord(
            image_bytes=path.read_bytes(), source_id=name, height=256, width=256,
            landmarks=_read_pts(path.with_suffix(".pts")), scheme="300w68", bbox=boxes[name],
            attributes=[1, 0, 1] if i % 2 else []))
    first = records[0]
    records.append(dataclasses.replace(first, source_id=IDENTITY_ID,
                                       bbox=[-0.5, -0.5, 255.5, 255.5]))
    return records


@pytest.fixture(scope="module")
def shards(faces, tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("records")
    write_records(str(directory / "faces"), faces, num_shards=2)
    return str(directory / "faces-*.tfrecord")


def _cfg(input_size: int = 128, heatmap_size: int = 32, batch_size: int = 3, **kw) -> Config:
    base = dict(shuffle_buffer=16, deterministic=True, seed=7)
    base.update(kw)
    spec = HeatmapSpec("300w68", input_size, heatmap_size)
    return Config("test", ModelConfig(spec=spec, num_stacks=1), DataConfig(**base),
                  TrainConfig(batch_size=batch_size))


def _eval_batches(shards: str, cfg: Config, targets: str = "heatmaps") -> list:
    return list(P.make_dataset(shards, cfg, training=False, with_metadata=True,
                               targets=targets))


def test_default_targets_are_the_landmarks_the_model_encodes_in_its_step(shards):
    cfg = _cfg()
    heatmap_batches = _eval_batches(shards, cfg)
    for (images, y, meta), (images_h, targets, _) in zip(
            _eval_batches(shards, cfg, targets="landmarks"), heatmap_batches, strict=True):
        np.testing.assert_array_equal(images, images_h)
        assert set(y) == {"landmarks", "visible"}
        np.testing.assert_array_equal(y["landmarks"], meta["landmarks"])
        np.testing.assert_array_equal(y["visible"], meta["visible"])
        np.testing.assert_array_equal(
            HeatmapCodec.for_config(cfg).encode(y["landmarks"], y["visible"]), targets[0])


# === Evaluation: the crop ===


def test_eval_crop_maps_landmarks_by_the_box_similarity(shards, faces):
    cfg = _cfg(crop_margin=0.1)
    s = cfg.spec.input_size
    by_id = {f.source_id: f for f in faces}
    seen = set()
    for images, targets, meta in _eval_batches(shards, cfg):
        assert images.shape[1:] == (s, s, 3) and len(targets) == 1
        for i, sid in enumerate(meta["source_id"].numpy()):
            rec = by_id[sid.decode()]
            x1, y1, x2, y2 = rec.bbox
            side = max(x2 - x1, y2 - y1) * 1.1
            k = s / side
            ox, oy = 0.5 * (x1 + x2) - 0.5 * side, 0.5 * (y1 + y2) - 0.5 * side
            want = (rec.landmarks - [ox, oy]) * k - 0.5
            np.testing.assert_allclose(meta["landmarks"][i], want, atol=2e-3)
            back = meta["crop_to_image"][i].numpy()
            lm = meta["landmarks"][i].numpy()
            mapped = lm @ back[:2, :2].T + back[:2, 2]
            np.testing.assert_allclose(mapped, rec.landmarks, atol=2e-3)
            seen.add(rec.source_id)
    assert seen == set(by_id)


def test_eval_box_equal_to_the_frame_gives_the_image_itself(shards, faces):
    cfg = _cfg(input_size=256, heatmap_size=64)
    for images, _, meta in _eval_batches(shards, cfg):
        ids = [v.decode() for v in meta["source_id"].numpy()]
        if IDENTITY_ID in ids:
            i = ids.index(IDENTITY_ID)
            source = tf.io.decode_image(faces[0].image_bytes, channels=3).numpy() / 255.0
            np.testing.assert_allclose(images[i], source, atol=1e-5)
            np.testing.assert_allclose(meta["landmarks"][i], faces[0].landmarks, atol=1e-3)
            np.testing.assert_allclose(meta["crop_to_image"][i], np.eye(3), atol=1e-5)
            return
    pytest.fail("identity record not found")


def test_eval_targets_decode_back_to_the_landmarks(shards):
    cfg = _cfg()
    h, k = cfg.spec.heatmap_size, 68
    for _, targets, meta in _eval_batches(shards, cfg):
        target = targets[0]
        assert target.shape[1:] == (h, h, k + 1)
        decoded, _ = decode_heatmaps(target[..., :k], method="subpixel")
        want = HeatmapCodec(cfg.spec).to_heatmap_coords(meta["landmarks"]).numpy()
        inside = np.all((want >= 1.0) & (want <= h - 2.0), axis=-1)
        err = np.linalg.norm(decoded.numpy() - want, axis=-1)[inside]
        assert inside.sum() > 0 and err.max() < 0.1
        boundary = target[..., k].numpy()
        assert boundary.max() == pytest.approx(1.0, abs=0.05) and boundary.min() >= 0.0


def test_eval_metadata_attributes_are_padded(shards):
    meta = _eval_batches(shards, _cfg(batch_size=16))[0][2]
    attrs = meta["attributes"].numpy()
    assert attrs.shape == (NUM_FACES + 1, 6) and attrs.dtype == np.int32
    rows = {tuple(r) for r in attrs.tolist()}
    assert rows == {(1, 0, 1, -1, -1, -1), (-1,) * 6}
    assert meta["visible"].shape == (NUM_FACES + 1, 68)


# === Training ===


def _take(shards: str, cfg: Config, n: int = 3, **kw) -> list:
    ds = P.make_dataset(shards, cfg, training=True, **kw)
    return [tuple(tf.nest.map_structure(lambda t: t.numpy(), e)) for e in ds.take(n)]


def test_training_shapes_types_and_ranges(shards):
    cfg = _cfg()
    batches = _take(shards, cfg, num_stacks=2, targets="heatmaps")
    for images, targets in batches:
        assert images.shape == (3, 128, 128, 3) and images.dtype == np.float32
        assert 0.0 <= images.min() and images.max() <= 1.0
        assert isinstance(targets, tuple) and len(targets) == 2
        assert targets[0].shape == (3, 32, 32, 69) and targets[0].dtype == np.float32
        np.testing.assert_array_equal(targets[0], targets[1])
        assert 0.0 <= targets[0].min() and targets[0].max() <= 1.0


def test_training_is_reproducible_with_a_seed_and_differs_across_seeds(shards):
    cfg = _cfg()
    a = _take(shards, cfg)
    b = _take(shards, cfg)
    c = _take(shards, dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, seed=8)))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1]["landmarks"], y[1]["landmarks"])
    assert not all(np.array_equal(x[0], z[0]) for x, z in zip(a, c, strict=True))


def test_training_metadata_inverse_maps_back_to_the_source(shards, faces):
    cfg = _cfg(rotation_degrees=50.0, flip_probability=0.5)
    by_id = {f.source_id: f for f in faces}
    perm = np.array(__import__("awing_tf.schemes", fromlist=["x"]).get_scheme(
        "300w68").flip_permutation)
    for _, _, meta in _take(shards, cfg, n=4, with_metadata=True):
        for i, sid in enumerate(meta["source_id"]):
            src = by_id[sid.decode()].landmarks
            back = meta["crop_to_image"][i]
            mapped = meta["landmarks"][i] @ back[:2, :2].T + back[:2, 2]
            flipped = np.linalg.det(back[:2, :2]) < 0
            np.testing.assert_allclose(mapped, src[perm] if flipped else src, atol=0.05)


def test_bad_arguments_raise(shards, tmp_path):
    with pytest.raises(ValueError, match="matches no files"):
        P.make_dataset(str(tmp_path / "none-*.tfrecord"), _cfg(), training=True)
    with pytest.raises(ValueError, match="num_stacks"):
        P.make_dataset(shards, _cfg(), training=True, num_stacks=0)
    with pytest.raises(ValueError, match="targets must be one of"):
        P.make_dataset(shards, _cfg(), training=True, targets="boundary")
    with pytest.raises(TypeError, match="config must be a Config"):
        P.make_dataset(shards, {"input_size": 64}, training=True)


# === Distribution ===

_MIRRORED = textwrap.dedent("""
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from awing_tf.config import apply_overrides, preset
    from awing_tf.data.pipeline import make_dataset
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    cfg = apply_overrides(preset("tiny"), ["train.batch_size=4", "data.seed=1",
                                           "data.deterministic=True"])
    ds = make_dataset(sys.argv[1], cfg, training=True)
    dist = strategy.experimental_distribute_dataset(ds)

    @tf.function
    def step(images, targets):
        return tf.reduce_sum(images) + tf.reduce_sum(targets["landmarks"])

    it = iter(dist)
    for _ in range(3):
        images, targets = next(it)
        local = strategy.experimental_local_results(images)
        assert len(local) == 2 and local[0].shape == (2, 64, 64, 3), local[0].shape
        total = strategy.reduce("SUM", strategy.run(step, (images, targets)), axis=None)
        assert float(total) > 0
    print("OK", strategy.num_replicas_in_sync)
""")


def test_mirrored_strategy_over_two_logical_cpus(shards):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", _MIRRORED, shards], capture_output=True,
                          text=True, timeout=180, env=env, cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK 2" in proc.stdout
