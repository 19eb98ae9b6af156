"""Capacity-test runs and their stages, for ``prober report --load``.

A Locust capacity test is one :class:`LoadRun` (its shape, target host, start,
end, the SLO it was judged against and the knee it found) and one
:class:`LoadStage` row per stage and model: the users, request rate, failures
by error type and the TTFT, TTFA and end-to-end percentiles of the requests
that started in that stage. ``model = "*"`` rows hold every model together.

Durations are seconds and times UTC, as in the probe results. A percentile
over no successful request is NULL, never zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Engine, Index, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

__all__ = [
    "ALL_MODELS",
    "LoadRun",
    "LoadStage",
    "finish_run",
    "recent_runs",
    "save_stages",
    "stages_of",
    "start_run",
]

ALL_MODELS = "*"
"""The ``model`` of a stage row that counts every model together."""


class LoadRun(SQLModel, table=True):
    """One capacity test, from the shape's first stage to its last."""

    __tablename__ = "load_runs"
    __table_args__ = (Index("ix_load_runs_started", "started_at"),)

    id: str = Field(primary_key=True, max_length=32)
    shape: str = Field(max_length=32)
    host: str = Field(max_length=300)
    provider: str = Field(max_length=100)
    vantage: str = Field(max_length=64)
    started_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    ended_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    slo_ttft_p95_s: float
    slo_error_rate: float
    # Step runs only: the highest step that met the SLO below the first one
    # that did not; ``saturated`` says whether such a breach was seen at all.
    knee_stage: int | None = None
    knee_users: int | None = None
    knee_request_rate: float | None = None
    saturated: bool | None = None
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class LoadStage(SQLModel, table=True):
    """One stage of a run, for one model or (``model = "*"``) all of them."""

    __tablename__ = "load_stages"
    __table_args__ = (
        UniqueConstraint("run_id", "stage_index", "model"),
        Index("ix_load_stages_run", "run_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="load_runs.id", max_length=32)
    stage_index: int
    stage: str = Field(max_length=32)
    # ``quiet`` and ``peak`` mark the stages the report compares.
    role: str | None = Field(default=None, max_length=16)
    model: str = Field(max_length=200)
    started_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    ended_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    users: int
    users_start: int
    requests: int
    failures: int
    request_rate: float
    error_rate: float | None = None
    failures_by_type: dict[str, int] = Field(
        default_factory=dict, sa_column=Column(JSON)
    )
    ttft_p50_s: float | None = None
    ttft_p95_s: float | None = None
    ttft_p99_s: float | None = None
    ttfa_p50_s: float | None = None
    ttfa_p95_s: float | None = None
    e2e_p50_s: float | None = None
    e2e_p95_s: float | None = None
    e2e_p99_s: float | None = None
    output_tokens_per_s_p50: float | None = None
    meets_slo: bool | None = None


def start_run(engine: Engine, run: LoadRun) -> None:
    """Store a run as it starts (``ended_at`` stays NULL until it ends)."""
    with Session(engine) as session:
        session.add(run)
        session.commit()


def finish_run(engine: Engine, run_id: str, **values: Any) -> None:
    """Set the end of a run and what was found (``ended_at``, the knee)."""
    with Session(engine) as session:
        run = session.get(LoadRun, run_id)
        if run is None:
            raise KeyError(run_id)
        for name, value in values.items():
            setattr(run, name, value)
        session.add(run)
        session.commit()


def save_stages(engine: Engine, stages: Iterable[LoadStage]) -> None:
    with Session(engine) as session:
        session.add_all(list(stages))
        session.commit()


def recent_runs(
    engine: Engine, limit: int = 5, ids: Sequence[str] = ()
) -> list[LoadRun]:
    """The newest runs first; ``ids`` (or unique prefixes of them) select."""
    with Session(engine) as session:
        query = select(LoadRun).order_by(col(LoadRun.started_at).desc())
        if ids:
            runs = [run for run in session.exec(query) if _matches(run.id, ids)]
            return runs[:limit] if limit else runs
        return list(session.exec(query.limit(limit)))


def stages_of(engine: Engine, run_id: str) -> list[LoadStage]:
    with Session(engine) as session:
        query = (
            select(LoadStage)
            .where(LoadStage.run_id == run_id)
            .order_by(col(LoadStage.stage_index), col(LoadStage.model))
        )
        return list(session.exec(query))


def _matches(run_id: str, prefixes: Sequence[str]) -> bool:
    return any(run_id.startswith(prefix) for prefix in prefixes)
