"""A percentile report over ``probe_results``: p50/p95/p99 of TTFT per model
and probe, computed with numpy from columns fetched in as few Python objects
as the database allows.

This is the benchmark's own query, written before the product had one.
TODO(service-branch): when the service branch's rollups and report queries
are merged, time the product's query here instead of this one.

* PostgreSQL aggregates each (model, probe) into one ``float8[]`` read in
  binary, so a million values cross as ~70 arrays, not a million rows.
* SQLite has no array type: ``group_concat`` joins each group's values into
  one text that numpy parses in C. A report over a long range reads most of
  the table, so the query scans it (``NOT INDEXED``): the planner otherwise
  walks the (model, probe, started_at) index and fetches every row by id,
  twice as slow. With a covering index holding ``ttft_s`` (see
  ``COVERING_INDEX``) the scan reads the index alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine

__all__ = ["percentile_report"]

QUANTILES = (50, 95, 99)

_PG_QUERY = """
SELECT model, probe, array_agg(ttft_s)
FROM probe_results
WHERE ok AND ttft_s IS NOT NULL AND started_at >= %s
GROUP BY model, probe
"""
_SQLITE_QUERY = """
SELECT model, probe, group_concat(ttft_s)
FROM probe_results {hint}
WHERE ok AND ttft_s IS NOT NULL AND started_at >= ?
GROUP BY model, probe
"""
COVERING_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_report_ttft "
    "ON probe_results (model, probe, started_at, ok, ttft_s)"
)


def percentile_report(
    engine: Engine, since: datetime, sqlite_index: str | None = None
) -> list[dict[str, Any]]:
    """One row per (model, probe) with ``count`` and ``ttft_p50_s`` etc.

    ``sqlite_index`` names a covering index for SQLite to read instead of
    scanning the table.
    """
    groups = (
        _groups_postgres(engine, since)
        if engine.dialect.name == "postgresql"
        else _groups_sqlite(engine, since, sqlite_index)
    )
    report = []
    for (model, probe), values in sorted(groups.items()):
        p50, p95, p99 = np.percentile(values, QUANTILES)
        report.append(
            {
                "model": model,
                "probe": probe,
                "count": int(values.size),
                "ttft_p50_s": float(p50),
                "ttft_p95_s": float(p95),
                "ttft_p99_s": float(p99),
            }
        )
    return report


def _groups_postgres(engine: Engine, since: datetime) -> dict[tuple, np.ndarray]:
    connection = engine.raw_connection()
    try:
        with connection.cursor(binary=True) as cursor:  # type: ignore[call-arg]
            cursor.execute(_PG_QUERY, (since,))
            return {
                (model, probe): np.asarray(values, dtype=np.float64)
                for model, probe, values in cursor.fetchall()
            }
    finally:
        connection.close()


def _groups_sqlite(
    engine: Engine, since: datetime, index: str | None
) -> dict[tuple, np.ndarray]:
    hint = f"INDEXED BY {index}" if index else "NOT INDEXED"
    # SQLAlchemy stores SQLite datetimes as naive UTC text.
    naive = since.astimezone(UTC).replace(tzinfo=None)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(_SQLITE_QUERY.format(hint=hint), (naive.isoformat(sep=" "),))
        rows = cursor.fetchall()
    finally:
        connection.close()
    return {
        (model, probe): np.fromstring(values, sep=",") for model, probe, values in rows
    }
