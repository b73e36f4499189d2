"""``section.field=value`` overrides of a Config (the ``--override`` flag; no TensorFlow
import)."""

from __future__ import annotations

import dataclasses
import typing

from awing_tf.config.run_config import SPEC_FIELDS, STEM_STRIDE, Config, ModelConfig

_SECTIONS = ("spec", "model", "data", "train")
# ``model.X`` / ``data.X`` for a geometry field X, and ``data.batch_size``, name the one
# owner of that value (the spec, the training config), so older override strings still work.
_ALIASES = {("model", f): "spec" for f in SPEC_FIELDS} | {
    ("data", f): "spec" for f in SPEC_FIELDS} | {("data", "batch_size"): "train"}


def _coerce(value: str, annotation: typing.Any, key: str) -> typing.Any:
    text = value.strip()
    ann = str(annotation)
    try:
        if ann in ("bool", "<class 'bool'>"):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if ann in ("int", "<class 'int'>"):
            return int(text)
        if ann in ("float", "<class 'float'>"):
            return float(text)
        if ann.startswith("int | None"):
            return None if text.lower() == "none" else int(text)
        if ann.startswith("float | None"):
            return None if text.lower() == "none" else float(text)
        if ann.startswith("tuple[float"):
            return tuple(float(v) for v in text.split(",") if v.strip())
        return text
    except ValueError:
        raise ValueError(f"override {key}={value!r}: cannot read {value!r} as {ann}") from None


def _fields(obj: typing.Any) -> dict[str, typing.Any]:
    return {f.name: f.type for f in dataclasses.fields(obj)
            if not (isinstance(obj, ModelConfig) and f.name == "spec")}


def apply_overrides(config: Config, overrides: typing.Iterable[str]) -> Config:
    """Applies ``section.field=value`` strings, e.g. ``model.num_stacks=2``.

    Sections: ``spec`` (scheme, input_size, heatmap_size, use_boundary), ``model``, ``data``
    and ``train``. A bare ``field=value`` is accepted when the field name is unique across
    sections. ``model.heatmap_size`` (or ``data.``) is the spec's field, ``data.batch_size``
    the training batch: each value has one owner.
    """
    sections: dict[str, typing.Any] = {"spec": config.model.spec, "model": config.model,
                                       "data": config.data, "train": config.train}
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        key = key.strip()
        if "." in key:
            section, field = key.split(".", 1)
            if section not in _SECTIONS:
                raise ValueError(f"override {key!r}: unknown section {section!r}; "
                                 f"choose one of {list(_SECTIONS)}")
            section = _ALIASES.get((section, field), section)
        else:
            field = key
            owners = [s for s in _SECTIONS if field in _fields(sections[s])]
            if not owners:
                raise ValueError(f"override {key!r}: no config field named {field!r}")
            if len(owners) > 1:
                raise ValueError(f"override {key!r} is ambiguous; prefix one of {owners}")
            section = owners[0]
        obj = sections[section]
        if field not in _fields(obj):
            raise ValueError(f"override {key!r}: {section} has no field {field!r}")
        new = _coerce(value, _fields(obj)[field], key)
        try:
            sections[section] = dataclasses.replace(obj, **{field: new})
        except ValueError as err:
            raise ValueError(f"override {key!r}: {err}") from None
    spec = sections["spec"]
    if spec.input_size != STEM_STRIDE * spec.heatmap_size:
        raise ValueError(
            "input_size must be 4 x heatmap_size, got "
            f"{spec.input_size} and {spec.heatmap_size}"
        )
    model = dataclasses.replace(sections["model"], spec=spec)
    return dataclasses.replace(config, model=model, data=sections["data"],
                               train=sections["train"])
