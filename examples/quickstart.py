"""The quickstart (``make demo``): data -> train -> evaluate -> export -> predict.

An app over the three packages: ``data_tools`` draws the synthetic faces, ``awing_tf`` trains,
evaluates and predicts, ``export`` writes the SavedModel and TFLite files.

Everything is written under ``--output_dir`` (default ``runs/demo``). Without ``DATA`` (or
``--data``) it draws synthetic faces; with ``DATA=PREFIX`` it uses ``PREFIX_train-*`` and
``PREFIX_val-*`` records written by a converter with ``--split=train=...,val=...``.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import time

from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", "runs/demo", "Where every artefact goes.")
flags.DEFINE_string("data", os.environ.get("DATA"),
                    "Record prefix with _train-*/_val-* shards (default: synthetic faces).")
flags.DEFINE_string("config", "compact", "Preset to train.")
flags.DEFINE_integer("num_faces", 2400, "Synthetic faces to draw (90 % train, 10 % val).")
flags.DEFINE_float("train_minutes", 5.0, "Training time budget in minutes.")
flags.DEFINE_integer("epochs", 30, "Maximum epochs (training stops at the time budget).")
flags.DEFINE_integer("batch_size", 16, "Global batch size.")
flags.DEFINE_float("learning_rate", 1e-3, "RMSProp learning rate for the short demo run "
                   "(the paper's 1e-4 suits its 240-epoch schedule).")


def _records(out: str, data: str | None, config) -> tuple[str, str]:
    if data:
        train, val = f"{data}_train-*", f"{data}_val-*"
        if not glob.glob(train) or not glob.glob(val):
            raise app.UsageError(f"DATA={data!r}: need {train} and {val} shards")
        return train, val
    from data_tools.synthetic import write_synthetic

    prefix = os.path.join(out, "data", "synthetic")
    train, val = f"{prefix}_train-*", f"{prefix}_val-*"
    if glob.glob(train) and glob.glob(val):
        logging.info("reusing synthetic records %s", prefix)
        return train, val
    write_synthetic(prefix, FLAGS.num_faces, config.model.scheme,
                    image_size=int(config.model.input_size * 1.25), num_shards=2, seed=0,
                    split="train=0.9,val=0.1")
    return train, val


def _export(model_path: str, out: str, records: str) -> dict[str, str]:
    """SavedModel and TFLite (float32 and int8) when the export package provides them."""
    try:
        from export.saved_model import export_saved_model
        from export.tflite import as_representative_dataset, convert, representative_crops
    except ImportError as err:  # pragma: no cover - export is part of the package
        logging.warning("export skipped: %s", err)
        return {}
    from awing_tf.models.loading import load_model

    model = load_model(model_path)
    paths = {"saved_model": os.path.join(out, "saved_model")}
    export_saved_model(model, paths["saved_model"])
    crops = representative_crops(records, model.model_config, num_samples=64)
    for quant in ("float32", "int8"):
        rep = as_representative_dataset(crops) if quant == "int8" else None
        path = os.path.join(out, f"model_{quant}.tflite")
        with open(path, "wb") as fh:
            fh.write(convert(model, quant, rep))
        paths[f"tflite_{quant}"] = path
    return paths


def _sample_image(val_records: str, out: str) -> str:
    """Writes the first validation face's source image as a PNG to predict on."""
    import tensorflow as tf

    from awing_tf.data.features import IMAGE_ENCODED, parse_spec

    files = sorted(glob.glob(val_records))
    raw = next(iter(tf.data.TFRecordDataset(files[:1])))
    f = tf.io.parse_single_example(raw, {IMAGE_ENCODED: parse_spec()[IMAGE_ENCODED]})
    image = tf.io.decode_image(f[IMAGE_ENCODED], channels=3, expand_animations=False)
    path = os.path.join(out, "sample_face.png")
    tf.io.write_file(path, tf.io.encode_png(image))
    return path


def main(argv: list[str]) -> None:
    del argv
    t0 = time.monotonic()
    from awing_tf import config as config_lib
    from awing_tf.evaluation import evaluate
    from awing_tf.inference.photos import predict_paths
    from awing_tf.training.callbacks import TimeBudget
    from awing_tf.training.loop import train

    out = FLAGS.output_dir
    os.makedirs(out, exist_ok=True)
    cfg = config_lib.apply_overrides(config_lib.preset(FLAGS.config), [
        f"train.epochs={FLAGS.epochs}", f"train.batch_size={FLAGS.batch_size}",
        f"train.learning_rate={FLAGS.learning_rate}",
    ])
    train_rec, val_rec = _records(out, FLAGS.data, cfg)
    t_data = time.monotonic()
    # The demo's short run: no LR decay steps, stop at the time budget.
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, lr_decay_fractions=()))
    model_dir = os.path.join(out, "train")
    train(cfg, train_rec, model_dir, val_rec, verbose=2,
          callbacks=[TimeBudget(FLAGS.train_minutes)])
    model_path = os.path.join(out, "model.keras")
    best = os.path.join(model_dir, "best.keras")  # lowest validation loss of the run
    shutil.copyfile(best if os.path.isfile(best) else os.path.join(model_dir, "model.keras"),
                    model_path)
    t_train = time.monotonic()
    report = evaluate(model_path, val_rec, out)
    exported = _export(model_path, os.path.join(out, "export"), val_rec)
    image = _sample_image(val_rec, out)
    pred = predict_paths(model_path, [image], os.path.join(out, "predict"))
    annotated = [r["annotated"] for r in pred["images"].values()]
    t_end = time.monotonic()

    print("\n=== awing-tf demo ===")
    print(f"data     {train_rec} / {val_rec} ({t_data - t0:.0f} s)")
    print(f"train    {model_dir} ({t_train - t_data:.0f} s)")
    print(f"model    {model_path}")
    print(f"report   {os.path.join(out, 'report.json')}: NME {report['nme']:.2f} % "
          f"({report['normalizer']}), FR@10 {report['fr_10']:.1f} %, "
          f"AUC@10 {report['auc_10']:.3f} on {report['count']} validation faces")
    print(f"ced      {os.path.join(out, 'ced.png')}")
    for name, path in exported.items():
        print(f"{name:8s} {path}")
    for path in annotated:
        print(f"predict  {path}")
    print(f"total    {t_end - t0:.0f} s")


if __name__ == "__main__":
    app.run(main)
