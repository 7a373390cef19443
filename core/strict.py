"""Strict, typed construction of dataclasses from YAML mappings.

Every experiment file and training recipe is read through :func:`from_mapping`: an unknown or misspelt key is an error
that names the key, the file and the closest known key (no silent fall-back to defaults, unlike KAIR's option parser),
and every value is checked against the field's annotation.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from srbench.core.errors import SrbenchError
from srbench.core.names import suggest

T = TypeVar("T")


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping; a missing file or a syntax error is a one-line SrbenchError naming the file. A relative
    ``experiments/...`` path absent from the working folder is the shipped file of that name (experiments, recipes
    and ablation bases work from any folder: :func:`srbench.core.store.experiment_path`)."""
    from srbench.core.store import experiment_path

    path = experiment_path(path)
    if not path.is_file():
        raise SrbenchError(f"experiment file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SrbenchError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise SrbenchError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def _check(value: Any, annotation: Any, where: str) -> Any:
    """Check (and lightly coerce: int -> float, list -> tuple) ``value`` against a type annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in args:
            try:
                return _check(value, option, where)
            except SrbenchError as exc:
                errors.append(str(exc))
        raise SrbenchError(f"{where}: {value!r} is not a valid {_name(annotation)}")
    if annotation is type(None):
        if value is None:
            return None
        raise SrbenchError(f"{where}: expected null, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            value = [value]  # a scalar where a list is expected: a list of one
        item = args[0] if args else Any
        checked = [_check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(checked) if origin is tuple else checked
    if origin is dict:
        if not isinstance(value, dict):
            raise SrbenchError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, dict):
            raise SrbenchError(f"{where}: expected a mapping, got {value!r}")
        return from_mapping(annotation, value, where)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is bool and not isinstance(value, bool):
        raise SrbenchError(f"{where}: expected true or false, got {value!r}")
    if annotation is int and isinstance(value, bool):
        raise SrbenchError(f"{where}: expected an integer, got {value!r}")
    if isinstance(annotation, type) and not isinstance(value, annotation):
        raise SrbenchError(f"{where}: expected {_name(annotation)}, got {value!r}")
    return value


def _name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def from_mapping(cls: type[T], data: dict, where: str) -> T:
    """Build dataclass ``cls`` from ``data``; ``where`` (file and key path) prefixes every error message."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            raise SrbenchError(f"{where}: unknown key {key!r}{suggest(str(key), fields)}; "
                               f"allowed: {', '.join(fields)}")
    missing = [name for name, f in fields.items() if name not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise SrbenchError(f"{where}: missing required key(s) {', '.join(missing)}")
    values = {key: _check(value, hints[key], f"{where}.{key}") for key, value in data.items()}
    try:
        return cls(**values)
    except SrbenchError as exc:
        raise SrbenchError(f"{where}: {exc}") from exc


def to_mapping(obj: Any) -> Any:
    """A dataclass (nested) as plain YAML-able data: the resolved form that is logged verbatim."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_mapping(v) for k, v in obj.items()}
    return obj
