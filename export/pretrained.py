r"""Package a trained model as a pretrained model of the library: ``python -m export.pretrained``.

    python -m export.pretrained --model=runs/300w68_compact --name=300w68_compact \
        --training_data='300W ...' --recipe='python -m bench.reproduce_300w ...'

Writes into ``awing_tf/pretrained/`` (or ``--output_dir``): ``NAME.keras`` (the model without
its compile state and optimizer variables), optionally ``NAME_int8.tflite`` (``--tflite``),
and ``NAME.json``, the manifest: scheme, geometry, crop margin, the training data and its
terms, the recipe command, the run's epochs and minutes, and each file's size and SHA-256,
which ``awing_tf.pretrained`` checks whenever the model is loaded. Files are written under
temporary names and renamed when complete.
"""

from __future__ import annotations

import json
import os
import shutil

from absl import flags, logging

from export.command_line import run_export_app

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A training run folder (or its .keras file).")
flags.DEFINE_string("name", None, "The pretrained model's name, e.g. 300w68_compact.")
flags.DEFINE_string("tflite", None, "An exported .tflite of the same model to ship beside it.")
flags.DEFINE_string("output_dir", None, "Default: the package's awing_tf/pretrained/.")
flags.DEFINE_string("training_data", None, "What the model was trained on (for the manifest).")
flags.DEFINE_string("terms", "The 300-W annotations and images are for non-commercial "
                    "research only; so are models trained on them.",
                    "The terms of the training data.")
flags.DEFINE_string("recipe", None, "The command that trained the model.")
flags.DEFINE_multi_string("note", [], "Further lines for the manifest's notes.")
flags.mark_flags_as_required(["model", "name", "training_data", "recipe"])


def _copy_atomically(src: str, dst: str) -> None:
    tmp = dst + ".partial"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def package(model_path: str, name: str, output_dir: str, training_data: str, terms: str,
            recipe: str, tflite: str | None = None, notes: list[str] | None = None) -> dict:
    """Writes ``name``'s files and manifest into ``output_dir``; returns the manifest."""
    from awing_tf.models.loading import load_model, resolve_model_path, run_data_config
    from awing_tf.pretrained import sha256

    model = load_model(model_path)
    run_dir = os.path.dirname(resolve_model_path(model_path))
    os.makedirs(output_dir, exist_ok=True)
    keras_file = os.path.join(output_dir, f"{name}.keras")
    partial = os.path.join(output_dir, f"{name}.partial.keras")
    model.save(partial)  # loaded without compiling: no optimizer state is saved
    os.replace(partial, keras_file)
    files = {"keras": keras_file}
    if tflite:
        files["tflite"] = os.path.join(output_dir, f"{name}_int8.tflite")
        _copy_atomically(tflite, files["tflite"])
    budget_file = os.path.join(run_dir, "budget.json")
    run = {}
    if os.path.isfile(budget_file):
        with open(budget_file) as fh:
            plan = json.load(fh)
        run = {"epochs": plan.get("epochs_done"), "steps_per_epoch": plan.get("steps_per_epoch"),
               "minutes": plan.get("minutes_used")}
    spec = model.spec
    manifest = {
        "name": name,
        "scheme": spec.scheme,
        "input_size": spec.input_size,
        "heatmap_size": spec.heatmap_size,
        "use_boundary": spec.use_boundary,
        "crop_margin": run_data_config(model_path).margin_for(spec.scheme),
        "parameters": int(model.count_params()),
        "training": {"data": training_data, "terms": terms, "recipe": recipe, **run},
        "notes": list(notes or []),
        "files": {kind: {"file": os.path.basename(path), "bytes": os.path.getsize(path),
                         "sha256": sha256(path)} for kind, path in files.items()},
    }
    target = os.path.join(output_dir, f"{name}.json")
    with open(target + ".partial", "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    os.replace(target + ".partial", target)
    return manifest


def main(argv: list[str]) -> None:
    del argv
    from awing_tf import pretrained

    output_dir = FLAGS.output_dir or os.path.dirname(pretrained.__file__)
    manifest = package(FLAGS.model, FLAGS.name, output_dir, FLAGS.training_data, FLAGS.terms,
                       FLAGS.recipe, FLAGS.tflite, FLAGS.note)
    for kind, entry in manifest["files"].items():
        logging.info("%s: %s (%.2f MB, sha256 %s)", kind, entry["file"], entry["bytes"] / 1e6,
                     entry["sha256"][:12])
    print(f"wrote {os.path.join(output_dir, FLAGS.name + '.json')}")


if __name__ == "__main__":
    run_export_app(main, __name__)
