"""Aggregates over the results and rollups: outcome counts, latency samples,
spend and token averages. Plain synchronous functions over an engine; the
service calls them from worker threads.

Maintenance windows arrive as :data:`Exclusion` tuples (start, end, models;
no models meaning all), so this package needs nothing from ``prober``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    Engine,
    LargeBinary,
    Table,
    and_,
    case,
    func,
    literal,
    not_,
    select,
)

from storage.tables import ProbeResult, ProbeRollup

__all__ = [
    "Exclusion",
    "OutcomeCounts",
    "gather",
    "gathered_floats",
    "latency_samples",
    "outcome_counts",
    "last_started",
    "rollup_outcome_counts",
    "spend_since",
    "token_averages",
]

Exclusion = tuple[datetime, datetime, tuple[str, ...]]

_RATE_LIMITED = "rate_limited"


@dataclass(slots=True)
class OutcomeCounts:
    ok: int = 0
    errors: int = 0
    """Failures other than rate limiting."""
    rate_limited: int = 0

    @property
    def total(self) -> int:
        return self.ok + self.errors + self.rate_limited


def _results() -> Table:
    table: Table = ProbeResult.__table__  # type: ignore[attr-defined]
    return table


def _rollups() -> Table:
    table: Table = ProbeRollup.__table__  # type: ignore[attr-defined]
    return table


def _scoped(
    statement: Any,
    table: Table,
    vantage: str | None,
    models: Sequence[str] | None,
) -> Any:
    if vantage is not None:
        statement = statement.where(table.c.vantage == vantage)
    if models is not None:
        statement = statement.where(table.c.model.in_(list(models)))
    return statement


def outcome_counts(
    engine: Engine,
    since: datetime,
    until: datetime,
    exclusions: Sequence[Exclusion] = (),
    vantage: str | None = None,
    models: Sequence[str] | None = None,
    skip_probes: Sequence[str] = (),
) -> dict[str, OutcomeCounts]:
    """Per model: successes, failures and rate-limited probes in the range,
    probes inside a maintenance window and probes in ``skip_probes`` left
    out."""
    r = _results()
    # Sums of flags, not a GROUP BY on them: the groups are then the models
    # alone, which the report index yields in order, with nothing to sort.
    ok = func.sum(case((r.c.ok.is_(True), 1), else_=0))
    limited = func.sum(
        case((and_(r.c.ok.is_(False), r.c.error_type == _RATE_LIMITED), 1), else_=0)
    )
    statement = (
        select(r.c.model, func.count(), ok, limited)
        .where(r.c.started_at >= since, r.c.started_at < until)
        .group_by(r.c.model)
    )
    if skip_probes:
        statement = statement.where(r.c.probe.not_in(list(skip_probes)))
    for start, end, only in exclusions:
        inside = and_(r.c.started_at >= start, r.c.started_at < end)
        if only:
            inside = and_(inside, r.c.model.in_(list(only)))
        statement = statement.where(not_(inside))
    statement = _scoped(statement, r, vantage, models)
    with engine.connect() as connection:
        return {
            model: OutcomeCounts(int(ok), int(total - ok - limited), int(limited))
            for model, total, ok, limited in connection.execute(statement)
        }


def rollup_outcome_counts(
    engine: Engine,
    since: datetime,
    until: datetime,
    exclusions: Sequence[Exclusion] = (),
    vantage: str | None = None,
    models: Sequence[str] | None = None,
    skip_probes: Sequence[str] = (),
) -> dict[str, OutcomeCounts]:
    """As :func:`outcome_counts`, from the hourly rollups, for ranges older
    than the raw rows; an hour that touches a maintenance window is left out
    whole."""
    u = _rollups()
    statement = (
        select(
            u.c.model,
            func.sum(u.c.ok_count),
            func.sum(u.c.error_count - u.c.rate_limited_count),
            func.sum(u.c.rate_limited_count),
        )
        .where(u.c.bucket_s == 3600)
        .where(u.c.bucket_start >= since, u.c.bucket_start < until)
        .group_by(u.c.model)
    )
    if skip_probes:
        statement = statement.where(u.c.probe.not_in(list(skip_probes)))
    for start, end, only in exclusions:
        touches = and_(
            u.c.bucket_start < end, u.c.bucket_start > start - timedelta(hours=1)
        )
        if only:
            touches = and_(touches, u.c.model.in_(list(only)))
        statement = statement.where(not_(touches))
    statement = _scoped(statement, u, vantage, models)
    with engine.connect() as connection:
        return {
            model: OutcomeCounts(int(ok or 0), int(errors or 0), int(limited or 0))
            for model, ok, errors, limited in connection.execute(statement)
        }


def latency_samples(
    engine: Engine,
    fields: Sequence[str],
    since: datetime,
    until: datetime,
    models: Sequence[str] | None = None,
    probes: Sequence[str] | None = None,
    vantage: str | None = None,
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Per (model, probe): each field's values over successful probes.

    The database gathers each group's values (:func:`gather`).
    """
    r = _results()
    statement = (
        select(r.c.model, r.c.probe, *(gather(engine, r.c[name]) for name in fields))
        .where(r.c.ok.is_(True), r.c.started_at >= since, r.c.started_at < until)
        .group_by(r.c.model, r.c.probe)
    )
    if probes is not None:
        statement = statement.where(r.c.probe.in_(list(probes)))
    statement = _scoped(statement, r, vantage, models)
    with engine.connect() as connection:
        rows = list(connection.execute(statement))
    return {
        (row[0], row[1]): {
            name: gathered_floats(values)
            for name, values in zip(fields, row[2:], strict=True)
        }
        for row in rows
    }


def gather(engine: Engine, column: Any) -> Any:
    """An aggregate that hands a group's non-NULL values over as one object,
    so a million values cross as a few hundred objects, not a million rows:
    PostgreSQL's doubles as their raw big-endian bytes, SQLite's as text
    with the seventeen significant digits that give back every bit.
    group_concat's own text keeps fifteen digits and SQLite's printf
    sixteen, unless the ``!`` flag lifts that limit. Read with
    :func:`gathered_floats`."""
    if engine.dialect.name == "postgresql":
        return func.string_agg(func.float8send(column), literal(b"", LargeBinary))
    text = case((column.is_not(None), func.printf("%!.17g", column)))
    return func.group_concat(text)


def gathered_floats(values: bytes | str | None) -> np.ndarray:
    """The values one :func:`gather` produced."""
    if not values:
        return np.array([], dtype=float)
    if isinstance(values, str):
        return np.fromstring(values, sep=",")
    return np.frombuffer(values, dtype=">f8").astype(float)


def spend_since(
    engine: Engine,
    since: datetime,
    vantage: str | None = None,
    models: Sequence[str] | None = None,
) -> dict[str, float]:
    """Per model: the sum of ``cost_usd`` since ``since``."""
    r = _results()
    statement = (
        select(r.c.model, func.sum(r.c.cost_usd))
        .where(r.c.started_at >= since)
        .group_by(r.c.model)
    )
    statement = _scoped(statement, r, vantage, models)
    with engine.connect() as connection:
        return {
            model: float(total or 0.0) for model, total in connection.execute(statement)
        }


def token_averages(
    engine: Engine, since: datetime
) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """Per (model, probe): average input and output tokens of answered probes."""
    r = _results()
    statement = (
        select(
            r.c.model,
            r.c.probe,
            func.avg(r.c.input_tokens),
            func.avg(r.c.output_tokens),
        )
        .where(r.c.started_at >= since, r.c.output_tokens.is_not(None))
        .group_by(r.c.model, r.c.probe)
    )
    with engine.connect() as connection:
        return {
            (model, probe): (_float(avg_in), _float(avg_out))
            for model, probe, avg_in, avg_out in connection.execute(statement)
        }


def last_started(
    engine: Engine, since: datetime, vantage: str | None = None
) -> dict[tuple[str, str], datetime]:
    """Per (model, probe): when its latest run since ``since`` started."""
    r = _results()
    statement = (
        select(r.c.model, r.c.probe, func.max(r.c.started_at))
        .where(r.c.started_at >= since)
        .group_by(r.c.model, r.c.probe)
    )
    statement = _scoped(statement, r, vantage, None)
    with engine.connect() as connection:
        return {
            (model, probe): _utc(latest)
            for model, probe, latest in connection.execute(statement)
        }


def _utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; they are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
