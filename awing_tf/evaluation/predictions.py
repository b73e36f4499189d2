"""A model's landmarks on the evaluation crops of TFRecords, in source-image pixels."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from awing_tf.config import Config
from awing_tf.data.pipeline import as_record_error, make_dataset
from awing_tf.face_crop import map_points


def predict_records(model, records: str, config: Config, decode: str = "quarter_offset",
                    flip_test: bool = False) -> dict[str, np.ndarray]:
    """Runs ``model`` (a FaceAligner) over the evaluation crops of ``records``.

    ``config``: the model's geometry and the data settings (crop margin) and batch size to
    read the records with (``awing_tf.models.loading.inference_config``); ``flip_test``
    averages each face's heatmaps with its mirror image's (``FaceAligner.heatmaps``).

    Returns ``pred`` and ``gt`` ``(N, K, 2)`` in source-image pixels, ``scores`` (N, K) the
    raw peak heatmap values, ``visible`` (N, K), ``source_id`` (N,), ``attributes`` (N, 6).

    Raises ``RecordError`` naming a broken shard or a bad record (``config.data``'s
    ``on_bad_record=fail``).
    """
    ds = make_dataset(records, config, training=False, num_stacks=1, with_metadata=True)
    k = model.num_landmarks
    out: dict[str, list] = {"pred": [], "gt": [], "scores": [], "visible": [],
                            "source_id": [], "attributes": []}
    try:
        _collect(model, ds, decode, flip_test, out)
    except tf.errors.OpError as err:
        named = as_record_error(err, records, config.spec.num_landmarks)
        if named is None:
            raise
        raise named from None
    if not out["pred"]:
        raise ValueError(f"no records read from {records!r}")
    res = {key: np.concatenate(v) for key, v in out.items()}
    if res["gt"].shape[1] != k:
        raise ValueError(f"records have {res['gt'].shape[1]} landmarks, the model {k}")
    return res


def _collect(model, ds, decode: str, flip_test: bool, out: dict[str, list]) -> None:
    """Appends each batch's predictions and metadata of ``ds`` to the lists of ``out``."""
    for images, _, meta in ds:
        coords, scores = model.decode(images, decode, flip_test)
        m = meta["crop_to_image"].numpy()
        out["pred"].append(map_points(m, coords.numpy()))
        out["gt"].append(map_points(m, meta["landmarks"].numpy()))
        out["scores"].append(scores.numpy())
        out["visible"].append(meta["visible"].numpy())
        out["source_id"].append(meta["source_id"].numpy())
        out["attributes"].append(meta["attributes"].numpy())
