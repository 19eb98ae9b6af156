"""Strict typed tables: build frozen dataclasses from parsed TOML.

Every table is checked when it is loaded, not when a value is first used:
unknown keys are rejected, types are checked, and each error carries the dotted
path of the key at fault (``models.glm-5.decode.median_tokens_per_s``), so the
caller can name the file and the key in one message.

Dataclasses may define ``validate()``, raising :class:`SchemaError` with a field
name; :func:`build` prefixes it with the table's path.
"""

import dataclasses
import enum
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


class SchemaError(ValueError):
    """A table that does not fit its schema; ``key`` is the dotted key path."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


def build(cls: type[T], table: Any, path: str = "") -> T:
    """Build dataclass ``cls`` from ``table``, rejecting unknown keys."""
    if not isinstance(table, dict):
        raise SchemaError(path, "expected a table")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    for key in table:
        if key not in names:
            raise SchemaError(_join(path, key), "unknown key")

    values = {
        name: _convert(hints[name], table[name], _join(path, name))
        for name in names
        if name in table
    }
    built = cls(**values)
    _validate(built, path)
    return built


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Lay table ``over`` on ``base`` key by key, recursing into sub-tables."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validate(built: Any, path: str) -> None:
    validate = getattr(built, "validate", None)
    if validate is None:
        return
    try:
        validate()
    except SchemaError as exc:
        raise SchemaError(_join(path, exc.key), exc.problem) from None


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        origin = typing.get_origin(hint)
    if origin is dict:
        return _convert_dict(hint, value, path)
    if origin is list:
        return _convert_list(hint, value, path)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, path)  # type: ignore[arg-type]
    return _convert_scalar(hint, value, path)


def _convert_dict(hint: Any, value: Any, path: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise SchemaError(path, "expected a table")
    key_type, value_type = typing.get_args(hint)
    return {
        _convert_key(key_type, key, path): _convert(value_type, item, _join(path, key))
        for key, item in value.items()
    }


def _convert_list(hint: Any, value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaError(path, "expected an array")
    (item_type,) = typing.get_args(hint)
    return [_convert(item_type, item, f"{path}[{i}]") for i, item in enumerate(value)]


def _convert_key(key_type: Any, key: str, path: str) -> Any:
    if isinstance(key_type, type) and issubclass(key_type, enum.Enum):
        try:
            return key_type(key)
        except ValueError:
            known = ", ".join(member.value for member in key_type)
            raise SchemaError(
                _join(path, key), f"unknown key (one of {known})"
            ) from None
    return key


def _convert_scalar(hint: Any, value: Any, path: str) -> Any:
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (str, bool) and isinstance(value, hint):
        return value
    raise SchemaError(path, f"expected {hint.__name__}, got {type(value).__name__}")


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)
