"""One pass over a window's results: per (model, probe, UTC day), the
outcome counts, spend, graded quality and latency values that the ranking
and ``prober report`` are built from.

A million rows read once cost a fraction of a second; read once per figure
(counts, spend, quality, latency, per model, per task and per day) they
cost seconds. The groups follow the report index (model, probe, then
time).

Latency values are gathered whole, not summarised, so percentiles over any
union of groups stay exact (:func:`storage.stats.gather`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    func,
    select,
    true,
    tuple_,
)

from storage.stats import OutcomeCounts, _results, gather, gathered_floats

__all__ = ["Tally", "window_tallies"]

_RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class Tally:
    """One (model, probe, UTC day) of a window.

    Counts, spend and latency are over the chosen vantage's rows; quality is
    over every vantage's, since an answer's grade does not depend on where
    it was asked from.
    """

    counts: OutcomeCounts
    cost_usd: float | None
    """Sum of ``cost_usd``; ``None`` when no row has a cost."""
    quality_sum: float
    graded: int
    latency: dict[str, np.ndarray]
    """Per field: its values over successful probes (latency probes only)."""


def window_tallies(
    engine: Engine,
    since: datetime,
    until: datetime,
    fields: Sequence[str],
    models: Sequence[str] | None = None,
    vantage: str | None = None,
    latency_probes: Sequence[str] | None = None,
) -> dict[tuple[str, str, str], Tally]:
    """Per (model, probe, UTC day as YYYY-MM-DD) in ``[since, until)``: a
    :class:`Tally`, the values of ``fields`` gathered over the probes in
    ``latency_probes`` (default: every probe). Runs SQL: call it from a
    worker thread."""
    r = _results()
    figures = _figures(engine, r, fields, vantage, latency_probes)
    with engine.connect() as connection:
        rows = _day_by_day(connection, r, figures, since, until, models)
        return {
            (model, probe, day): _tally(row, fields) for model, probe, day, row in rows
        }


def _figures(
    engine: Engine,
    r: Table,
    fields: Sequence[str],
    vantage: str | None,
    latency_probes: Sequence[str] | None,
) -> list[Any]:
    """The aggregates of one group, in the order :func:`_tally` reads them."""
    mine = true() if vantage is None else r.c.vantage == vantage
    ok = and_(mine, r.c.ok.is_(True))
    limited = and_(mine, r.c.ok.is_(False), r.c.error_type == _RATE_LIMITED)
    answered = ok
    if latency_probes is not None:
        answered = and_(ok, r.c.probe.in_(list(latency_probes)))
    return [
        func.count().filter(mine),
        func.count().filter(ok),
        func.count().filter(limited),
        func.sum(r.c.cost_usd).filter(mine),
        func.sum(r.c.quality),
        func.count(r.c.quality),
        *(gather(engine, r.c[name]).filter(answered) for name in fields),
    ]


def _day_by_day(
    connection: Connection,
    r: Table,
    figures: list[Any],
    since: datetime,
    until: datetime,
    models: Sequence[str] | None,
) -> Iterator[tuple[str, str, str, Sequence[Any]]]:
    """One statement per UTC day, each grouping (model, probe) over ranges
    of the report index, which yields them in that order: grouping by an
    expression of the time instead has the database sort the window's rows
    (SQLite on disk), which takes longer than reading them. The ranges need
    the probes named, so they are looked up first."""
    pairs = _model_probes(connection, r, models)
    if not pairs:
        return
    statement = (
        select(r.c.model, r.c.probe, *figures)
        .where(r.c.model.in_(sorted({model for model, _ in pairs})))
        .where(r.c.probe.in_(sorted({probe for _, probe in pairs})))
        .where(r.c.started_at >= bindparam("start"), r.c.started_at < bindparam("end"))
        .group_by(r.c.model, r.c.probe)
    )
    for day, start, end in _utc_days(since, until):
        bounds = {"start": start, "end": end}
        for row in connection.execute(statement, bounds):
            yield row[0], row[1], day, row[2:]


def _model_probes(
    connection: Connection, r: Table, models: Sequence[str] | None
) -> list[tuple[str, str]]:
    """Every (model, probe) with rows, ``models`` only: one index seek
    each, not a read of the table."""
    following = (
        select(r.c.model, r.c.probe)
        .where(
            tuple_(r.c.model, r.c.probe)
            > tuple_(bindparam("model"), bindparam("probe"))
        )
        .order_by(r.c.model, r.c.probe)
        .limit(1)
    )
    pairs: list[tuple[str, str]] = []
    bounds = {"model": "", "probe": ""}
    while row := connection.execute(following, bounds).first():
        pairs.append((row[0], row[1]))
        bounds = {"model": row[0], "probe": row[1]}
    wanted = None if models is None else set(models)
    return [pair for pair in pairs if wanted is None or pair[0] in wanted]


def _utc_days(
    since: datetime, until: datetime
) -> Iterator[tuple[str, datetime, datetime]]:
    """Each UTC day's name and its part of ``[since, until)``."""
    start = since.astimezone(UTC)
    while start < until:
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        end = min(midnight + timedelta(days=1), until)
        yield f"{start:%Y-%m-%d}", start, end
        start = end


def _tally(row: Any, fields: Sequence[str]) -> Tally:
    total, ok, limited, cost, quality_sum, graded = row[:6]
    return Tally(
        counts=OutcomeCounts(int(ok), int(total - ok - limited), int(limited)),
        cost_usd=None if cost is None else float(cost),
        quality_sum=float(quality_sum or 0.0),
        graded=int(graded),
        latency={
            name: gathered_floats(values)
            for name, values in zip(fields, row[6:], strict=True)
        },
    )
