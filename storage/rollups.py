"""Percentile rollups: counts and p50/p90/p95/p99 per model, probe and bucket.

Every result lands in a 5-minute and a 1-hour bucket. A pass finds the rows
it has not seen yet by id (the highest id read is kept in ``rollup_state``),
recomputes the buckets they fall in and writes them with an upsert, so
running it again, or from two processes, only rewrites the same numbers.
Rows that arrive late (replayed from a spill file) get new ids and so are
picked up too.

:class:`Rollups` keeps the current and the previous hour's rows in memory
as numpy columns between passes, so a pass reads only the rows written
since the last one, and recomputes only the 5-minute buckets they fall in
and their hour. An hour not held (the first pass, or late rows for an older
hour) is read whole, one hour at a time, so memory stays bounded on a first
run over a large table. This is CPU work with numpy: run it in a worker
thread, never on the event loop.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.rollup_columns import (
    FIELDS,
    QUANTILES,
    Codes,
    Columns,
    bucket_start,
    summarise,
)
from storage.tables import ProbeResult, ProbeRollup, RollupState, utc

__all__ = ["BUCKETS_S", "QUANTILES", "RollupScope", "Rollups", "update_rollups"]

log = logging.getLogger(__name__)

BUCKETS_S = (300, 3600)
_HOUR = timedelta(hours=1)
_KEY = ("bucket_s", "bucket_start", "model", "provider", "probe", "vantage")
_FETCH_ROWS = 10_000


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
    """Bring the rollups up to date with a pass that holds no hour yet, so
    reads the current and the previous hour whole; returns the number of
    buckets written."""
    return Rollups(scope).update(engine, now)


class Rollups:
    """One scope's rollups, brought up to date pass after pass."""

    def __init__(self, scope: RollupScope) -> None:
        self.scope = scope
        self._codes = Codes()
        self._held: dict[datetime, Columns] = {}
        self._through_id = 0
        self._lock = threading.Lock()

    def update(self, engine: Engine, now: datetime | None = None) -> int:
        """Bring the rollups up to date; returns the number of buckets written."""
        now = now or datetime.now(UTC)
        with self._lock:
            return self._update(engine, now)

    def _update(self, engine: Engine, now: datetime) -> int:
        recent = (_hour(now) - _HOUR, _hour(now))
        with engine.begin() as connection:
            since_id = _progress(connection, self.scope.name)
            if self._held:
                since_id = min(since_id, self._through_id)
            last_id = connection.execute(select(func.max(_id()))).scalar() or 0
            older = _dirty_hours(connection, self.scope, since_id, last_id, recent[0])
            fresh = self._fresh(connection, last_id, recent[0])
            unsure = self._unsure(connection, fresh, last_id)

        written = 0
        held: dict[datetime, Columns] = {}
        for hour in [*sorted(older), *recent]:
            with engine.begin() as connection:
                rows, windows = self._hour_rows(
                    connection, hour, fresh, unsure, last_id
                )
                buckets = self._buckets(rows, hour, windows, now)
                _upsert(connection, buckets)
            written += len(buckets)
            if hour in recent:
                held[hour] = rows
        with engine.begin() as connection:
            _save_progress(connection, self.scope.name, last_id, now)
        self._held, self._through_id = held, last_id
        log.debug("rollups: %d buckets written for %s", written, self.scope.name)
        return written

    def _fresh(self, connection: Connection, last_id: int, first: datetime) -> Columns:
        """The rows of the hours held that came since the last pass."""
        if not self._held:
            return Columns.empty()
        results = _table(ProbeResult)
        statement = _columns().where(
            _id() > self._through_id,
            _id() <= last_id,
            results.c.started_at >= first,
        )
        return _read(connection, _filtered(statement, self.scope), self._codes)

    def _unsure(
        self, connection: Connection, fresh: Columns, last_id: int
    ) -> set[datetime]:
        """Hours held whose rows may not all have been seen.

        On PostgreSQL ids are taken when rows are inserted, not when they
        commit, so a batch can become visible after one with higher ids,
        below the id a pass has read up to. Counting each hour held finds
        such rows, and the hour is read again. SQLite writes one
        transaction at a time, so its ids always appear in order."""
        if connection.dialect.name != "postgresql":
            return set()
        unsure = set()
        for hour, rows in self._held.items():
            arrived = int(np.count_nonzero(_in_hour(fresh, hour)))
            if _count(connection, self.scope, hour, last_id) != len(rows) + arrived:
                unsure.add(hour)
        return unsure

    def _hour_rows(
        self,
        connection: Connection,
        hour: datetime,
        fresh: Columns,
        unsure: set[datetime],
        last_id: int,
    ) -> tuple[Columns, np.ndarray | None]:
        """An hour's rows, and the 5-minute windows to recompute (None: all)."""
        held = self._held.get(hour)
        if held is None or hour in unsure:
            return _hour_read(connection, self.scope, hour, last_id, self._codes), None
        arrived = fresh.where(_in_hour(fresh, hour))
        return Columns.joined([held, arrived]), np.unique(arrived.window)

    def _buckets(
        self,
        rows: Columns,
        hour: datetime,
        windows: np.ndarray | None,
        now: datetime,
    ) -> list[dict[str, Any]]:
        if windows is None:
            windows = np.unique(rows.window)
        if not len(rows) or not windows.size:
            return []
        buckets = summarise(rows, self._codes, 3600, hour, now)
        for window in windows.tolist():
            members = rows.where(rows.window == window)
            buckets += summarise(members, self._codes, 300, bucket_start(window), now)
        return buckets


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
    connection: Connection,
    scope: RollupScope,
    since_id: int,
    last_id: int,
    before: datetime,
) -> set[datetime]:
    """The hours before ``before`` that rows since ``since_id`` fall in."""
    results = _table(ProbeResult)
    statement = select(results.c.started_at).where(
        _id() > since_id, _id() <= last_id, results.c.started_at < before
    )
    statement = _filtered(statement, scope).execution_options(yield_per=_FETCH_ROWS)
    return {_hour(utc(started_at)) for (started_at,) in connection.execute(statement)}


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _in_hour(rows: Columns, hour: datetime) -> np.ndarray:
    first = int(hour.timestamp())
    return (rows.window >= first) & (rows.window < first + 3600)


def _columns() -> Any:
    results = _table(ProbeResult)
    return select(*(results.c[name] for name in FIELDS))


def _read(connection: Connection, statement: Any, codes: Codes) -> Columns:
    """The rows ``statement`` selects, read a batch at a time into columns."""
    result = connection.execute(statement.execution_options(yield_per=_FETCH_ROWS))
    return Columns.joined(
        Columns.of(batch, codes) for batch in result.partitions(_FETCH_ROWS)
    )


def _hour_read(
    connection: Connection,
    scope: RollupScope,
    hour: datetime,
    last_id: int,
    codes: Codes,
) -> Columns:
    """Every row of ``hour`` up to ``last_id``."""
    results = _table(ProbeResult)
    statement = _columns().where(
        results.c.started_at >= hour,
        results.c.started_at < hour + _HOUR,
        _id() <= last_id,
    )
    return _read(connection, _filtered(statement, scope), codes)


def _count(
    connection: Connection, scope: RollupScope, hour: datetime, last_id: int
) -> int:
    results = _table(ProbeResult)
    statement = select(func.count()).where(
        results.c.started_at >= hour,
        results.c.started_at < hour + _HOUR,
        _id() <= last_id,
    )
    return int(connection.execute(_filtered(statement, scope)).scalar() or 0)


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
