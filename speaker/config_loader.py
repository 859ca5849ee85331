"""Turn plain YAML data into frozen settings dataclasses, with errors that name the key.

Every settings section is a frozen dataclass whose fields carry type hints; this module walks
those hints, so adding a setting is adding a field: no parsing code to write.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from speaker.errors import ConfigError

T = TypeVar("T")


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file, bad syntax or a non-mapping is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, not {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return base updated by override; nested mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build(cls: type[T], data: Any, where: str = "") -> T:
    """Build dataclass `cls` from `data`, checking every key and type; `where` prefixes error keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {_describe(data)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            raise ConfigError(_unknown_key(key, where, list(fields)))
    values: dict[str, Any] = {}
    for name, field in fields.items():
        key = f"{where}.{name}" if where else name
        if name in data:
            values[name] = convert(hints[name], data[name], key)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}: required setting is missing")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from exc


def convert(hint: Any, value: Any, key: str) -> Any:
    """Check (and lightly coerce: int -> float, str/list -> tuple) one value against a type hint."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return convert(option, value, key)
            except ConfigError as exc:
                errors.append(exc)
        expected = " or ".join(_type_name(o) for o in options)
        raise ConfigError(f"{key}: expected {expected}, got {_describe(value)}")
    if origin is Literal:
        choices = get_args(hint)
        if value not in choices:
            listed = ", ".join(repr(c) for c in choices)
            raise ConfigError(f"{key}: must be one of {listed}, got {value!r}")
        return value
    if dataclasses.is_dataclass(hint):
        return build(hint, value, key)
    if origin in (tuple, list):
        args = get_args(hint)
        item_hint = args[0] if args else Any
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {_describe(value)}")
        return tuple(convert(item_hint, item, f"{key}[{i}]") for i, item in enumerate(value))
    if origin in (dict, typing.Mapping) or hint is dict:
        key_hint, value_hint = get_args(hint) or (str, Any)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {_describe(value)}")
        return {
            convert(key_hint, k, f"{key}"): convert(value_hint, v, f"{key}.{k}") for k, v in value.items()
        }
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected a whole number, got {_describe(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {_describe(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected text, got {_describe(value)}")
        return value
    if hint is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a path, got {_describe(value)}")
        return Path(value).expanduser()
    raise ConfigError(f"{key}: unsupported setting type {hint!r}")  # a bug in a settings class


def _unknown_key(key: Any, where: str, known: list[str]) -> str:
    full = f"{where}.{key}" if where else str(key)
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{full}: unknown setting{hint}; known here: {', '.join(sorted(known))}"


def _type_name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    if get_origin(hint) is Literal:
        return " or ".join(repr(c) for c in get_args(hint))
    return {int: "a whole number", float: "a number", str: "text", bool: "true/false"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"[:80]
