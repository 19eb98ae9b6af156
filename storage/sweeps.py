"""The context sweep's derived figures: one row per sweep, one per cell.

A sweep's requests are ordinary result rows (``probe_results``, probe
``context``, with ``context_tokens``, ``needle_depth`` and ``needle_found``).
What is derived from them is kept here, because it belongs to the sweep as a
whole (the prefill fit, the effective context) or to a (length, depth) cell
of it (accuracy and median TTFT), and a report or a dashboard should not
have to re-derive it from raw rows:

* ``context_sweeps``: per sweep, the TTFT line (intercept, slope, prefill
  rate), the short-prompt accuracy and the effective context;
* ``context_sweep_cells``: per (sweep, length, depth), requests, answers,
  hits, accuracy, median prompt tokens and median TTFT.

Rows are written through :class:`SweepWriter`, the batched writer with its
spill files, so a sweep finished while the database is away is kept.
Durations are seconds; ``started_at`` is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Engine, Index, Table, func, select
from sqlmodel import Field, SQLModel

from storage.tables import utc
from storage.writer import ResultWriter

__all__ = [
    "ContextSweep",
    "ContextSweepCell",
    "SweepWriter",
    "last_sweeps",
    "load_sweep_cells",
    "load_sweeps",
]


class ContextSweep(SQLModel, table=True):
    """One context sweep of one model and what it showed."""

    __tablename__ = "context_sweeps"
    __table_args__ = (Index("ix_context_sweeps_model_started", "model", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=32, unique=True)
    started_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    model: str = Field(max_length=200)
    provider: str = Field(max_length=100)
    vantage: str = Field(max_length=64)
    seed: int
    duration_s: float
    ladder: str = Field(max_length=200)
    depths: str = Field(max_length=200)
    keep_ratio: float
    requests: int
    errors: int
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    baseline_accuracy: float | None = None
    effective_context_tokens: int | None = None
    effective_at_top: bool = False
    prefill_intercept_s: float | None = None
    prefill_slope_s_per_token: float | None = None
    prefill_tokens_per_s: float | None = None
    prefill_r2: float | None = None
    prefill_points: int | None = None


class ContextSweepCell(SQLModel, table=True):
    """One (length, depth) of a sweep."""

    __tablename__ = "context_sweep_cells"
    __table_args__ = (
        Index("ix_context_sweep_cells_sweep", "sweep_uid"),
        Index("ix_context_sweep_cells_model_started", "model", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=64, unique=True)
    sweep_uid: str = Field(max_length=32)
    started_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    model: str = Field(max_length=200)
    provider: str = Field(max_length=100)
    vantage: str = Field(max_length=64)
    length_tokens: int
    length_label: str = Field(max_length=16)
    needle_depth: float
    requests: int
    answered: int
    found: int
    accuracy: float | None = None
    context_tokens: int | None = None
    ttft_s: float | None = None


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


class SweepWriter:
    """Writes sweeps and their cells from threads, never blocking the caller;
    beside ``spill_path`` (the result writer's) each table has its own spill
    file, ``.sweeps.spill`` and ``.cells.spill``."""

    def __init__(self, engine: Engine, spill_path: str | Path) -> None:
        spill = Path(spill_path)
        self._sweeps = ResultWriter(
            engine, spill.with_suffix(".sweeps.spill"), table=_table(ContextSweep)
        )
        self._cells = ResultWriter(
            engine, spill.with_suffix(".cells.spill"), table=_table(ContextSweepCell)
        )

    def start(self) -> None:
        self._sweeps.start()
        self._cells.start()

    def submit(self, sweep: dict[str, Any], cells: list[dict[str, Any]]) -> None:
        """Queue one sweep's row and its cells' rows; never blocks."""
        self._sweeps.submit(sweep)
        for cell in cells:
            self._cells.submit(cell)

    def flush(self, timeout_s: float = 10.0) -> bool:
        return self._sweeps.flush(timeout_s) and self._cells.flush(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        self._sweeps.close(timeout_s)
        self._cells.close(timeout_s)


def last_sweeps(
    engine: Engine, since: datetime, vantage: str | None = None
) -> dict[str, datetime]:
    """Per model: when its latest finished sweep since ``since`` started."""
    table = _table(ContextSweep)
    statement = (
        select(table.c.model, func.max(table.c.started_at))
        .where(table.c.started_at >= since)
        .group_by(table.c.model)
    )
    if vantage is not None:
        statement = statement.where(table.c.vantage == vantage)
    with engine.connect() as connection:
        return {
            model: latest if latest.tzinfo else latest.replace(tzinfo=UTC)
            for model, latest in connection.execute(statement)
        }


def load_sweeps(
    engine: Engine, since: datetime, models: list[str] | None = None
) -> list[dict[str, Any]]:
    """Sweeps started at or after ``since``, oldest first, as dicts."""
    return _load(engine, ContextSweep, since, models)


def load_sweep_cells(
    engine: Engine, since: datetime, models: list[str] | None = None
) -> list[dict[str, Any]]:
    """Cells of the sweeps started at or after ``since``, oldest first."""
    return _load(engine, ContextSweepCell, since, models)


def _load(
    engine: Engine,
    model: type[SQLModel],
    since: datetime,
    models: list[str] | None,
) -> list[dict[str, Any]]:
    table = _table(model)
    query = select(table).where(table.c.started_at >= since)
    if models:
        query = query.where(table.c.model.in_(models))
    query = query.order_by(table.c.started_at, table.c.id)
    with engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query)]
    for row in rows:
        row["started_at"] = utc(row["started_at"])
    return rows
