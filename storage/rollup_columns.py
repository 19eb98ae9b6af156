"""Result rows as numpy columns, and the figures of one rollup bucket.

The rollup pass reads only the fields a rollup needs, straight into one
array per field, so a pass holds no row objects. A bucket's groups (model,
provider, probe, vantage) are summarised together: counts with
``bincount``, and percentiles with one :func:`numpy.percentile` call over
all the groups that have the same number of values, which gives the same
numbers as one call per group.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from storage.tables import ROLLUP_METRICS, utc

__all__ = ["FIELDS", "QUANTILES", "Codes", "Columns", "bucket_start", "summarise"]

QUANTILES = (50, 90, 95, 99)
FIVE_MINUTES_S = 300
FIELDS = (
    "started_at",
    "model",
    "provider",
    "probe",
    "vantage",
    "ok",
    "error_type",
    *ROLLUP_METRICS.values(),
    "cost_usd",
)
"""The result fields a rollup reads, in the order :meth:`Columns.of` takes."""

_KEY = ("model", "provider", "probe", "vantage")
_RATE_LIMITED = "rate_limited"


class Codes:
    """Small integers standing for groups and error types, kept for the life
    of a :class:`~storage.rollups.Rollups` so columns of different passes
    can be joined."""

    def __init__(self) -> None:
        self.groups: list[tuple[str, ...]] = []
        self.errors: list[str] = []
        self._group_codes: dict[tuple[str, ...], int] = {}
        self._error_codes: dict[str, int] = {}

    def group(self, key: tuple[str, ...]) -> int:
        code = self._group_codes.get(key)
        if code is None:
            code = self._group_codes[key] = len(self.groups)
            self.groups.append(key)
        return code

    def error(self, error_type: str) -> int:
        code = self._error_codes.get(error_type)
        if code is None:
            code = self._error_codes[error_type] = len(self.errors)
            self.errors.append(error_type)
        return code


@dataclass(frozen=True, slots=True)
class Columns:
    """Result rows, one array per field: the start of each row's 5-minute
    bucket (epoch seconds), its group and error codes (-1 when ok), and its
    values (NaN where the row has none; cost 0.0)."""

    window: np.ndarray
    group: np.ndarray
    ok: np.ndarray
    error: np.ndarray
    cost: np.ndarray
    values: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.window.size)

    @classmethod
    def of(cls, rows: Sequence[Sequence[Any]], codes: Codes) -> Columns:
        """Rows of :data:`FIELDS` as columns."""
        if not rows:
            return cls.empty()
        started, *key_and_rest = zip(*rows, strict=True)
        model, provider, probe, vantage, ok, error_type, *values = key_and_rest
        epoch = np.array([utc(moment).timestamp() for moment in started])
        keys = zip(model, provider, probe, vantage, strict=True)
        groups = [codes.group(key) for key in keys]
        errors = [
            -1 if success else codes.error(kind or "unknown")
            for success, kind in zip(ok, error_type, strict=True)
        ]
        *metrics, cost = (np.array(column, dtype=float) for column in values)
        return cls(
            window=(epoch - np.mod(epoch, FIVE_MINUTES_S)).astype(np.int64),
            group=np.array(groups, dtype=np.int32),
            ok=np.array(ok, dtype=bool),
            error=np.array(errors, dtype=np.int32),
            cost=np.nan_to_num(cost, nan=0.0),
            values=dict(zip(ROLLUP_METRICS, metrics, strict=True)),
        )

    @classmethod
    def empty(cls) -> Columns:
        codes = np.empty(0, dtype=np.int32)
        floats = np.empty(0, dtype=float)
        return cls(
            window=np.empty(0, dtype=np.int64),
            group=codes,
            ok=np.empty(0, dtype=bool),
            error=codes,
            cost=floats,
            values=dict.fromkeys(ROLLUP_METRICS, floats),
        )

    @classmethod
    def joined(cls, parts: Iterable[Columns]) -> Columns:
        parts = [part for part in parts if len(part)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            window=np.concatenate([part.window for part in parts]),
            group=np.concatenate([part.group for part in parts]),
            ok=np.concatenate([part.ok for part in parts]),
            error=np.concatenate([part.error for part in parts]),
            cost=np.concatenate([part.cost for part in parts]),
            values={
                prefix: np.concatenate([part.values[prefix] for part in parts])
                for prefix in ROLLUP_METRICS
            },
        )

    def where(self, mask: np.ndarray) -> Columns:
        return Columns(
            window=self.window[mask],
            group=self.group[mask],
            ok=self.ok[mask],
            error=self.error[mask],
            cost=self.cost[mask],
            values={prefix: array[mask] for prefix, array in self.values.items()},
        )


def summarise(
    columns: Columns, codes: Codes, bucket_s: int, start: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The rollup rows of one bucket: one per group present in ``columns``."""
    present, group = np.unique(columns.group, return_inverse=True)
    size = int(present.size)
    count = np.bincount(group, minlength=size)
    ok_count = np.bincount(group[columns.ok], minlength=size)
    errors = _error_counts(columns, codes, group, size)
    cost = _sums(columns.cost, group, count)
    metrics = {
        prefix: _percentiles(values, group[columns.ok], size)
        for prefix, values in ((p, v[columns.ok]) for p, v in columns.values.items())
    }

    buckets = []
    for index, code in enumerate(present.tolist()):
        by_type = {kind: int(counts[index]) for kind, counts in errors.items()}
        by_type = {kind: n for kind, n in sorted(by_type.items()) if n}
        rate_limited = by_type.get(_RATE_LIMITED, 0)
        counted = int(count[index]) - rate_limited
        bucket: dict[str, Any] = {"bucket_s": bucket_s, "bucket_start": start}
        bucket.update(zip(_KEY, codes.groups[code], strict=True))
        bucket.update(
            count=int(count[index]),
            ok_count=int(ok_count[index]),
            error_count=int(count[index] - ok_count[index]),
            rate_limited_count=rate_limited,
            errors=json.dumps(by_type),
            uptime=int(ok_count[index]) / counted if counted else None,
            cost_usd=cost[index],
            computed_at=now,
        )
        for prefix, (sizes, points) in metrics.items():
            bucket.update(_named(prefix, int(sizes[index]), points[index]))
        buckets.append(bucket)
    return buckets


def bucket_start(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def _error_counts(
    columns: Columns, codes: Codes, group: np.ndarray, size: int
) -> dict[str, np.ndarray]:
    return {
        codes.errors[code]: np.bincount(group[columns.error == code], minlength=size)
        for code in np.unique(columns.error[~columns.ok]).tolist()
    }


def _sums(values: np.ndarray, group: np.ndarray, count: np.ndarray) -> list[float]:
    """Per-group sums, correctly rounded, so the order rows were read in
    cannot change them."""
    ordered = values[np.argsort(group, kind="stable")]
    parts = np.split(ordered, np.cumsum(count)[:-1])
    return [math.fsum(part.tolist()) for part in parts]


def _percentiles(
    values: np.ndarray, group: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per group: how many values it has, and its QUANTILES (NaN when none)."""
    known = ~np.isnan(values)
    values, group = values[known], group[known]
    sizes = np.bincount(group, minlength=size)
    starts = np.cumsum(sizes) - sizes
    ordered = values[np.argsort(group, kind="stable")]
    points = np.full((size, len(QUANTILES)), np.nan)
    for length in np.unique(sizes[sizes > 0]).tolist():
        members = np.flatnonzero(sizes == length)
        block = ordered[starts[members, None] + np.arange(length)]
        points[members] = np.percentile(block, QUANTILES, axis=1).T
    return sizes, points


def _named(prefix: str, size: int, points: np.ndarray) -> dict[str, Any]:
    unit = "" if prefix == "output_tokens_per_s" else "_s"
    names = [f"{prefix}_p{q}{unit}" for q in QUANTILES]
    figures: dict[str, Any] = {f"{prefix}_count": size}
    if size == 0:
        figures.update(dict.fromkeys(names))
    else:
        figures.update(zip(names, points.tolist(), strict=True))
    return figures
