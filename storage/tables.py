"""The SQL tables, one SQLModel class each.

``ProbeResult`` is the result record: the same field names are used by
``prober once --json`` and the HTTP API. Fields that do not apply are NULL,
never zero. All durations are seconds; ``started_at`` is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel

__all__ = ["RECORD_FIELDS", "ProbeResult", "utc"]


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (SQLite returns naive ones)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class ProbeResult(SQLModel, table=True):
    """One probe request: its timings, tokens, cost, error class and grade."""

    __tablename__ = "probe_results"
    __table_args__ = (
        Index("ix_probe_results_model_probe_started", "model", "probe", "started_at"),
        Index("ix_probe_results_started", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Set by the prober when the probe runs; makes re-writing a row after a
    # crash (spill-file replay) idempotent.
    uid: str = Field(max_length=32, unique=True)
    started_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    model: str = Field(max_length=200)
    provider: str = Field(max_length=100)
    probe: str = Field(max_length=50)
    vantage: str = Field(max_length=64)
    ok: bool
    error_type: str | None = Field(default=None, max_length=32)
    status_code: int | None = None
    error_message: str | None = Field(default=None, max_length=300)
    ttft_s: float | None = None
    ttfa_s: float | None = None
    e2e_s: float | None = None
    itl_s: float | None = None
    chunk_gap_p50_s: float | None = None
    chunk_gap_p95_s: float | None = None
    chunk_gap_max_s: float | None = None
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    tokens_source: str | None = Field(default=None, max_length=16)
    output_tokens_per_s: float | None = None
    finish_reason: str | None = Field(default=None, max_length=64)
    response_model: str | None = Field(default=None, max_length=200)
    system_fingerprint: str | None = Field(default=None, max_length=200)
    cost_usd: float | None = None
    quality: float | None = None
    grade_correctness: float | None = None
    grade_code_quality: float | None = None
    grade_documentation: float | None = None
    grade_edge_cases: float | None = None
    grade_method: str | None = Field(default=None, max_length=16)
    grade_failed_checks: str | None = Field(default=None, max_length=2000)
    retry_after_s: float | None = None
    dns_s: float | None = None
    connect_s: float | None = None
    headers_s: float | None = None
    ratelimit_remaining_requests: int | None = None
    ratelimit_remaining_tokens: int | None = None
    context_tokens: int | None = None
    needle_depth: float | None = None
    needle_found: bool | None = None

    def record(self) -> dict[str, Any]:
        """The row as a result record (JSON-ready, ``started_at`` in ISO-8601)."""
        values = {name: getattr(self, name) for name in RECORD_FIELDS}
        values["started_at"] = utc(self.started_at).isoformat()
        return values


RECORD_FIELDS: tuple[str, ...] = tuple(
    name for name in ProbeResult.model_fields if name not in ("id", "uid")
)
