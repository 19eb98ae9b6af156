"""Reads for the HTTP API and the status page: pages of results, the latest
result per model, answers, rollups and a latency series. Synchronous; the
service calls them from worker threads.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, Table, and_, func, or_, select

from storage.tables import RECORD_FIELDS, ProbeAnswer, ProbeResult, ProbeRollup, utc

__all__ = [
    "ResultFilter",
    "answer",
    "decode_cursor",
    "latest_per_model",
    "results_page",
    "rollup_rows",
    "ttft_series",
]


@dataclass(frozen=True, slots=True)
class ResultFilter:
    models: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    ok: bool | None = None
    vantage: str | None = None


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _record(row: Any) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in ("uid", *RECORD_FIELDS)}
    values["started_at"] = utc(row.started_at).isoformat()
    if values["ok"] is not None:
        values["ok"] = bool(values["ok"])
    if values["needle_found"] is not None:
        values["needle_found"] = bool(values["needle_found"])
    return values


def results_page(
    engine: Engine, where: ResultFilter, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; the cursor continues after the last row returned."""
    r = _table(ProbeResult)
    statement = _filtered(select(r), r, where)
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        statement = statement.where(
            or_(
                r.c.started_at < at,
                and_(r.c.started_at == at, r.c.id < last_id),
            )
        )
    statement = statement.order_by(r.c.started_at.desc(), r.c.id.desc())
    with engine.connect() as connection:
        rows = list(connection.execute(statement.limit(limit + 1)))
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = _encode_cursor(utc(rows[-1].started_at), rows[-1].id)
    return [_record(row) for row in rows], following


def _filtered(statement: Any, r: Table, where: ResultFilter) -> Any:
    if where.models:
        statement = statement.where(r.c.model.in_(where.models))
    if where.probes:
        statement = statement.where(r.c.probe.in_(where.probes))
    if where.since is not None:
        statement = statement.where(r.c.started_at >= where.since)
    if where.until is not None:
        statement = statement.where(r.c.started_at < where.until)
    if where.ok is not None:
        statement = statement.where(r.c.ok.is_(where.ok))
    if where.vantage is not None:
        statement = statement.where(r.c.vantage == where.vantage)
    return statement


def _encode_cursor(at: datetime, row_id: int) -> str:
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position a cursor names; ``ValueError`` when it is not one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, _, row_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment.astimezone(UTC), int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("not a cursor this API returned") from exc


def latest_per_model(
    engine: Engine,
    models: Sequence[str],
    failed_only: bool = False,
    skip_probes: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    """Each model's newest result (or newest failure), ``skip_probes`` aside."""
    r = _table(ProbeResult)
    newest = select(r.c.model, func.max(r.c.started_at).label("at")).where(
        r.c.model.in_(list(models))
    )
    if skip_probes:
        newest = newest.where(r.c.probe.not_in(list(skip_probes)))
    if failed_only:
        newest = newest.where(r.c.ok.is_(False))
    newest_sq = newest.group_by(r.c.model).subquery()
    statement = select(r).join(
        newest_sq,
        and_(r.c.model == newest_sq.c.model, r.c.started_at == newest_sq.c.at),
    )
    if failed_only:
        statement = statement.where(r.c.ok.is_(False))
    if skip_probes:
        statement = statement.where(r.c.probe.not_in(list(skip_probes)))
    with engine.connect() as connection:
        rows = list(connection.execute(statement.order_by(r.c.id)))
    return {row.model: _record(row) for row in rows}


def answer(engine: Engine, uid: str) -> dict[str, Any] | None:
    a = _table(ProbeAnswer)
    with engine.connect() as connection:
        row = connection.execute(select(a).where(a.c.uid == uid)).first()
    if row is None:
        return None
    return {
        "uid": row.uid,
        "answer": row.answer,
        "answer_chars": row.answer_chars,
        "truncated": bool(row.truncated),
    }


def rollup_rows(
    engine: Engine,
    bucket_s: int,
    since: datetime,
    until: datetime,
    models: Sequence[str] = (),
    probes: Sequence[str] = (),
    limit: int = 1000,
) -> list[dict[str, Any]]:
    u = _table(ProbeRollup)
    statement = select(u).where(
        u.c.bucket_s == bucket_s, u.c.bucket_start >= since, u.c.bucket_start < until
    )
    if models:
        statement = statement.where(u.c.model.in_(list(models)))
    if probes:
        statement = statement.where(u.c.probe.in_(list(probes)))
    statement = statement.order_by(u.c.bucket_start, u.c.model, u.c.probe)
    with engine.connect() as connection:
        rows = list(connection.execute(statement.limit(limit)))
    return [_rollup(row) for row in rows]


def _rollup(row: Any) -> dict[str, Any]:
    values = dict(row._mapping)
    values.pop("id")
    values["bucket_start"] = utc(row.bucket_start).isoformat()
    values["computed_at"] = utc(row.computed_at).isoformat()
    return values


def ttft_series(
    engine: Engine,
    models: Sequence[str],
    since: datetime,
    bucket_s: int,
    skip_probes: Sequence[str] = (),
) -> dict[str, list[tuple[datetime, float]]]:
    """Per model: the median TTFT of successful probes per bucket, probes in
    ``skip_probes`` left out."""
    r = _table(ProbeResult)
    statement = select(r.c.model, r.c.started_at, r.c.ttft_s).where(
        r.c.model.in_(list(models)),
        r.c.ok.is_(True),
        r.c.ttft_s.is_not(None),
        r.c.started_at >= since,
    )
    if skip_probes:
        statement = statement.where(r.c.probe.not_in(list(skip_probes)))
    buckets: dict[str, dict[float, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    with engine.connect() as connection:
        for model, started_at, ttft_s in connection.execute(statement):
            epoch = utc(started_at).timestamp()
            buckets[model][epoch - epoch % bucket_s].append(ttft_s)
    return {
        model: [
            (datetime.fromtimestamp(start, UTC), float(np.median(values)))
            for start, values in sorted(points.items())
        ]
        for model, points in buckets.items()
    }
