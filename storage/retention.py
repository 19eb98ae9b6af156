"""Retention: raw rows for a configured number of days, rollups longer.

Rows are deleted a batch at a time so a first pass over a large table never
holds a long lock; answers go with their results.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, select

from storage.tables import ProbeAnswer, ProbeResult, ProbeRollup

__all__ = ["prune"]

log = logging.getLogger(__name__)

_BATCH = 5000


def prune(
    engine: Engine, rows_before: datetime, rollups_before: datetime
) -> tuple[int, int]:
    """Delete results older than ``rows_before`` and rollups older than
    ``rollups_before``; returns how many of each went."""
    rows = _prune_results(engine, rows_before)
    rollups = _table(ProbeRollup)
    with engine.begin() as connection:
        gone = connection.execute(
            delete(rollups).where(rollups.c.bucket_start < rollups_before)
        ).rowcount
    if rows or gone:
        log.info("retention: deleted %d result rows and %d rollups", rows, gone)
    return rows, gone


def _prune_results(engine: Engine, before: datetime) -> int:
    results, answers = _table(ProbeResult), _table(ProbeAnswer)
    total = 0
    while True:
        with engine.begin() as connection:
            batch = (
                select(results.c.id, results.c.uid)
                .where(results.c.started_at < before)
                .limit(_BATCH)
            )
            found = list(connection.execute(batch))
            if not found:
                return total
            ids = [row.id for row in found]
            uids = [row.uid for row in found]
            connection.execute(delete(answers).where(answers.c.uid.in_(uids)))
            connection.execute(delete(results).where(results.c.id.in_(ids)))
        total += len(found)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table
