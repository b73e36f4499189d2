"""A model's landmarks on the evaluation crops of TFRecords, in source-image pixels."""

from __future__ import annotations

import numpy as np

from awing_tf.config import Config
from awing_tf.data.pipeline import make_dataset
from awing_tf.face_crop import map_points


def predict_records(model, records: str, config: Config, decode: str = "quarter_offset",
                    flip_test: bool = False) -> dict[str, np.ndarray]:
    """Runs ``model`` (a FaceAligner) over the evaluation crops of ``records``.

    ``config``: the model's geometry and the data settings (crop margin) and batch size to
    read the records with (``awing_tf.models.loading.inference_config``); ``flip_test``
    averages each face's heatmaps with its mirror image's (``FaceAligner.heatmaps``).

    Returns ``pred`` and ``gt`` ``(N, K, 2)`` in source-image pixels, ``scores`` (N, K) the
    raw peak heatmap values, ``visible`` (N, K), ``source_id`` (N,), ``attributes`` (N, 6).
    """
    ds = make_dataset(records, config, training=False, num_stacks=1, with_metadata=True)
    k = model.num_landmarks
    out: dict[str, list] = {"pred": [], "gt": [], "scores": [], "visible": [],
                            "source_id": [], "attributes": []}
    for images, _, meta in ds:
        coords, scores = model.decode(images, decode, flip_test)
        m = meta["crop_to_image"].numpy()
        out["pred"].append(map_points(m, coords.numpy()))
        out["gt"].append(map_points(m, meta["landmarks"].numpy()))
        out["scores"].append(scores.numpy())
        out["visible"].append(meta["visible"].numpy())
        out["source_id"].append(meta["source_id"].numpy())
        out["attributes"].append(meta["attributes"].numpy())
    if not out["pred"]:
        raise ValueError(f"no records read from {records!r}")
    res = {key: np.concatenate(v) for key, v in out.items()}
    if res["gt"].shape[1] != k:
        raise ValueError(f"records have {res['gt'].shape[1]} landmarks, the model {k}")
    return res
