"""Query parameters of the HTTP API, parsed strictly.

Each parser raises :class:`ParamError` naming the parameter and the reason;
the API turns it into a 400 with a JSON body. Unknown parameters are refused
too, so a typo (``modle=``) is an error rather than a silently wider answer.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import UTC, datetime

from multidict import MultiMapping

__all__ = [
    "ParamError",
    "check_known",
    "parse_bool",
    "parse_choice",
    "parse_int",
    "parse_names",
    "parse_time",
    "single",
]

Query = MultiMapping[str]

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class ParamError(ValueError):
    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        self.reason = reason
        super().__init__(f"{parameter}: {reason}")


def check_known(query: Query, allowed: Collection[str]) -> None:
    for name in query:
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise ParamError(name, f"unknown parameter; known: {known}")


def single(query: Query, name: str) -> str | None:
    values = query.getall(name, [])
    if len(values) > 1:
        raise ParamError(name, "given more than once")
    return values[0] if values else None


def parse_names(query: Query, name: str, known: Collection[str]) -> tuple[str, ...]:
    """Repeated or comma-separated names, each one of ``known``."""
    names: list[str] = []
    for value in query.getall(name, []):
        for part in value.split(","):
            part = part.strip()
            if part not in known:
                shown = part if len(part) <= 64 else part[:64] + "..."
                raise ParamError(name, f"unknown {name} {shown!r}")
            names.append(part)
    return tuple(dict.fromkeys(names))


def parse_time(query: Query, name: str) -> datetime | None:
    """ISO-8601 (UTC when no offset is given) or Unix seconds."""
    value = single(query, name)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return _iso(name, value)
    if not math.isfinite(seconds) or not 0 <= seconds < 253402300800:
        raise ParamError(name, "Unix time out of range")
    return datetime.fromtimestamp(seconds, UTC)


def _iso(name: str, value: str) -> datetime:
    try:
        # RFC 3339 lets the zone letter be lower case.
        moment = datetime.fromisoformat(
            value.replace("Z", "+00:00").replace("z", "+00:00")
        )
    except ValueError:
        raise ParamError(
            name, "expected ISO-8601 time (2026-01-31T12:00:00Z) or Unix seconds"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ParamError(name, "time out of range") from None


def parse_bool(query: Query, name: str) -> bool | None:
    value = single(query, name)
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ParamError(name, "expected true or false")


def parse_int(query: Query, name: str, default: int, low: int, high: int) -> int:
    value = single(query, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ParamError(name, "expected an integer") from None
    if not low <= number <= high:
        raise ParamError(name, f"must be between {low} and {high}")
    return number


def parse_choice(
    query: Query, name: str, choices: Collection[str], default: str
) -> str:
    value = single(query, name)
    if value is None:
        return default
    if value not in choices:
        raise ParamError(name, f"expected one of {', '.join(choices)}")
    return value
