"""Percentile rollups: counts and p50/p90/p95/p99 per model, probe and bucket.

Every result lands in a 5-minute and a 1-hour bucket. :func:`update_rollups`
recomputes every bucket touched by rows it has not seen yet (tracked by the
highest result ``id`` it has read, in ``rollup_state``), plus the most recent
hour, and writes them with an upsert, so running it again, or from two
processes, only rewrites the same numbers. Rows that arrive late (replayed
from a spill file) get new ids and so are picked up too.

Work is done a whole hour at a time (its twelve 5-minute buckets and the
hour bucket), at most a day of rows per query, so memory stays bounded on a
first run over a large table. This is CPU work with numpy: call it from a
worker thread, never from the event loop.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.tables import ROLLUP_METRICS, ProbeResult, ProbeRollup, RollupState, utc

__all__ = ["BUCKETS_S", "QUANTILES", "RollupScope", "update_rollups"]

log = logging.getLogger(__name__)

BUCKETS_S = (300, 3600)
QUANTILES = (50, 90, 95, 99)
_HOUR = timedelta(hours=1)
_MAX_HOURS_PER_QUERY = 24
_KEY = ("bucket_s", "bucket_start", "model", "provider", "probe", "vantage")
_RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class RollupScope:
    """Whose rows a prober rolls up: its vantage, and its models when it
    runs one shard of the catalog. ``name`` keys its progress."""

    name: str
    vantage: str | None = None
    models: tuple[str, ...] | None = None


def update_rollups(
    engine: Engine, scope: RollupScope, now: datetime | None = None
) -> int:
    """Bring the rollups up to date; returns the number of buckets written."""
    now = now or datetime.now(UTC)
    with engine.begin() as connection:
        since_id = _progress(connection, scope.name)
        last_id = connection.execute(select(func.max(_id()))).scalar() or 0
        hours = _dirty_hours(connection, scope, since_id, last_id)
    hours.add(_hour(now))
    hours.add(_hour(now) - _HOUR)

    written = 0
    for first, end in _runs(sorted(hours)):
        with engine.begin() as connection:
            rows = _rows(connection, scope, first, end)
            buckets = _summarise(rows, now)
            _upsert(connection, buckets)
        written += len(buckets)
    with engine.begin() as connection:
        _save_progress(connection, scope.name, last_id, now)
    log.debug("rollups: %d buckets written for %s", written, scope.name)
    return written


def _id() -> Any:
    return _table(ProbeResult).c.id


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _filtered(statement: Any, scope: RollupScope) -> Any:
    results = _table(ProbeResult)
    if scope.vantage is not None:
        statement = statement.where(results.c.vantage == scope.vantage)
    if scope.models is not None:
        statement = statement.where(results.c.model.in_(scope.models))
    return statement


def _progress(connection: Connection, name: str) -> int:
    state = _table(RollupState)
    found = connection.execute(
        select(state.c.last_result_id).where(state.c.name == name)
    ).scalar()
    return int(found or 0)


def _save_progress(
    connection: Connection, name: str, last_id: int, now: datetime
) -> None:
    values = {"name": name, "last_result_id": last_id, "updated_at": now}
    statement = _upsert_statement(connection, _table(RollupState), ["name"])
    connection.execute(statement, [values])


def _dirty_hours(
    connection: Connection, scope: RollupScope, since_id: int, last_id: int
) -> set[datetime]:
    results = _table(ProbeResult)
    statement = select(results.c.started_at).where(
        results.c.id > since_id, results.c.id <= last_id
    )
    found = connection.execute(_filtered(statement, scope))
    return {_hour(utc(started_at)) for (started_at,) in found}


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _runs(hours: Sequence[datetime]) -> Iterable[tuple[datetime, datetime]]:
    """Consecutive hours as [first, end) ranges of at most a day each."""
    start = previous = None
    count = 0
    for hour in hours:
        if start is None:
            start, previous, count = hour, hour, 1
            continue
        assert previous is not None
        if hour - previous == _HOUR and count < _MAX_HOURS_PER_QUERY:
            previous, count = hour, count + 1
            continue
        yield start, previous + _HOUR
        start, previous, count = hour, hour, 1
    if start is not None and previous is not None:
        yield start, previous + _HOUR


_FIELDS = ("model", "provider", "probe", "vantage", "started_at", "ok", "error_type")
_VALUES = (*ROLLUP_METRICS.values(), "cost_usd")


def _rows(
    connection: Connection, scope: RollupScope, first: datetime, end: datetime
) -> list[Any]:
    results = _table(ProbeResult)
    columns = [results.c[name] for name in (*_FIELDS, *_VALUES)]
    statement = select(*columns).where(
        results.c.started_at >= first, results.c.started_at < end
    )
    return list(connection.execute(_filtered(statement, scope)))


def _summarise(rows: list[Any], now: datetime) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for row in rows:
        epoch = utc(row.started_at).timestamp()
        for width in BUCKETS_S:
            start = datetime.fromtimestamp(epoch - epoch % width, UTC)
            key = (width, start, row.model, row.provider, row.probe, row.vantage)
            groups[key].append(row)
    return [_bucket(key, members, now) for key, members in groups.items()]


def _bucket(key: tuple[Any, ...], rows: list[Any], now: datetime) -> dict[str, Any]:
    errors: dict[str, int] = defaultdict(int)
    for row in rows:
        if not row.ok:
            errors[row.error_type or "unknown"] += 1
    ok_count = sum(1 for row in rows if row.ok)
    rate_limited = errors.get(_RATE_LIMITED, 0)
    counted = len(rows) - rate_limited
    bucket: dict[str, Any] = dict(zip(_KEY, key, strict=True))
    bucket.update(
        count=len(rows),
        ok_count=ok_count,
        error_count=len(rows) - ok_count,
        rate_limited_count=rate_limited,
        errors=json.dumps(dict(sorted(errors.items()))),
        uptime=ok_count / counted if counted else None,
        cost_usd=float(sum(row.cost_usd or 0.0 for row in rows)),
        computed_at=now,
    )
    successes = [row for row in rows if row.ok]
    for prefix, field in ROLLUP_METRICS.items():
        bucket.update(_percentiles(prefix, field, successes))
    return bucket


def _percentiles(prefix: str, field: str, rows: list[Any]) -> dict[str, Any]:
    values = np.array(
        [getattr(row, field) for row in rows if getattr(row, field) is not None],
        dtype=float,
    )
    unit = "" if prefix == "output_tokens_per_s" else "_s"
    names = [f"{prefix}_p{q}{unit}" for q in QUANTILES]
    summary: dict[str, Any] = {f"{prefix}_count": int(values.size)}
    if values.size == 0:
        summary.update(dict.fromkeys(names))
        return summary
    points = np.percentile(values, QUANTILES)
    summary.update(
        {name: float(point) for name, point in zip(names, points, strict=True)}
    )
    return summary


def _upsert(connection: Connection, buckets: list[dict[str, Any]]) -> None:
    if not buckets:
        return
    statement = _upsert_statement(connection, _table(ProbeRollup), list(_KEY))
    connection.execute(statement, buckets)


def _upsert_statement(connection: Connection, table: Table, key: list[str]) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    updates = {
        column.name: statement.excluded[column.name]
        for column in table.columns
        if column.name not in key and not column.primary_key
    }
    return statement.on_conflict_do_update(index_elements=key, set_=updates)
