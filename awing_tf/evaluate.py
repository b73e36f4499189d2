"""Evaluate a trained model: ``python -m awing_tf.evaluate`` (``awing-evaluate``).

Writes ``report.json`` (NME, FR and AUC at 8 % and 10 %, per-image NMEs, WFLW attribute
subsets) and ``ced.png`` into ``--output_dir`` and prints a table like the paper's Table 1.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_string("records", None, "Glob of TFRecord shards to evaluate on.")
flags.DEFINE_string("model", None, "A .keras file or a training model_dir.")
flags.DEFINE_enum("normalizer", None, ["inter_ocular", "inter_pupil", "box", "torso"],
                  "NME normaliser (default: the scheme's: 300W/WFLW inter-ocular, COFW "
                  "inter-pupil, LSP torso).")
flags.DEFINE_enum("decode", "quarter_offset", ["quarter_offset", "subpixel"],
                  "Heatmap decoding: the paper's quarter-pixel shift or sub-pixel Taylor.")
flags.DEFINE_string("output_dir", None, "Where report.json and ced.png go.")
flags.DEFINE_float("crop_margin", None, "Override the crop margin (default from the run).")
flags.DEFINE_integer("batch_size", 16, "Evaluation batch size.")


def evaluate(model_path: str, records: str, output_dir: str, normalizer: str | None = None,
             decode: str = "quarter_offset", crop_margin: float | None = None,
             batch_size: int = 16) -> dict:
    """Library entry point of the app; returns the report (without per-image arrays)."""
    from awing_tf.evaluation import build_report, predict_records
    from awing_tf.model_io import data_config_for, load_model
    from awing_tf.plots import plot_ced

    model = load_model(model_path)
    data_cfg = data_config_for(model, model_path, crop_margin)
    pred = predict_records(model, records, data_cfg, decode=decode, batch_size=batch_size)
    report = build_report(pred, model.model_config.scheme, normalizer)
    report.update(model=os.path.abspath(model_path), records=records, decode=decode,
                  normalizer=normalizer or _default_normaliser(model.model_config.scheme))
    nmes = report.pop("nmes")
    os.makedirs(output_dir, exist_ok=True)
    plot_ced({os.path.basename(os.path.normpath(model_path)): nmes},
             os.path.join(output_dir, "ced.png"), threshold=0.1)
    with open(os.path.join(output_dir, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2)
    return report


def _default_normaliser(scheme: str) -> str:
    from awing_tf.schemes import get_scheme

    return get_scheme(scheme).default_normaliser


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    for name in ("records", "model", "output_dir"):
        if not getattr(FLAGS, name):
            raise app.UsageError(f"--{name} is required")
    from awing_tf.evaluation import format_table

    try:
        report = evaluate(FLAGS.model, FLAGS.records, FLAGS.output_dir, FLAGS.normalizer,
                          FLAGS.decode, FLAGS.crop_margin, FLAGS.batch_size)
    except (FileNotFoundError, ValueError) as err:
        logging.error("%s", err)
        sys.exit(2)
    print(f"{report['count']} faces, normaliser {report['normalizer']}, decode {FLAGS.decode}")
    print(format_table(report))
    print(f"wrote {os.path.join(FLAGS.output_dir, 'report.json')} and ced.png")


def run() -> None:
    app.run(main)


if __name__ == "__main__":
    run()
