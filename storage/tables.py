"""The SQL tables, one SQLModel class each.

``ProbeResult`` is the result record: the same field names are used by
``prober once --json`` and the HTTP API. Fields that do not apply are NULL,
never zero. All durations are seconds; ``started_at`` is UTC.
``ProbeAnswer`` keeps the text a probe got back, truncated, beside its
result. ``ProbeRollup`` holds percentiles and counts per time bucket, kept
longer than the raw rows; ``RollupState`` remembers how far rollups got.

A change here comes with a migration in ``storage/migrations/versions``;
a test fails when the migrated schema and these classes differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel

__all__ = [
    "ANSWER_MAX_CHARS",
    "RECORD_FIELDS",
    "ROLLUP_METRICS",
    "ProbeAnswer",
    "ProbeResult",
    "ProbeRollup",
    "RollupState",
    "utc",
]

ANSWER_MAX_CHARS = 20_000
"""Answers longer than this are cut; the full length is kept beside them."""

ROLLUP_METRICS: dict[str, str] = {
    "ttft": "ttft_s",
    "ttfa": "ttfa_s",
    "itl": "itl_s",
    "e2e": "e2e_s",
    "output_tokens_per_s": "output_tokens_per_s",
}
"""Rollup column prefix to the result field it summarises."""


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (SQLite returns naive ones)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class ProbeResult(SQLModel, table=True):
    """One probe request: its timings, tokens, cost, error class and grade."""

    __tablename__ = "probe_results"
    __table_args__ = (
        # Covering for the reports: they read these columns from the index
        # alone (migration 0005).
        Index(
            "ix_probe_results_report",
            "model",
            "probe",
            "started_at",
            "ok",
            "vantage",
            "error_type",
            "ttft_s",
            "output_tokens_per_s",
            "cost_usd",
            "quality",
        ),
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


class ProbeAnswer(SQLModel, table=True):
    """The text a probe got back, so a quality drop can be read."""

    __tablename__ = "probe_answers"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(
        sa_column=Column(
            String(32),
            ForeignKey("probe_results.uid", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    answer: str = Field(sa_column=Column(Text, nullable=False))
    answer_chars: int
    truncated: bool


class ProbeRollup(SQLModel, table=True):
    """Counts and percentiles of one (model, probe, vantage) in one bucket.

    Percentiles are over successful probes; counts are over all of them.
    ``uptime`` is ok / (ok + errors), rate-limited probes left out of both.
    """

    __tablename__ = "probe_rollups"
    __table_args__ = (
        Index(
            "ux_probe_rollups_key",
            "bucket_s",
            "bucket_start",
            "model",
            "provider",
            "probe",
            "vantage",
            unique=True,
        ),
        Index("ix_probe_rollups_model_start", "model", "bucket_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bucket_s: int
    bucket_start: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    model: str = Field(max_length=200)
    provider: str = Field(max_length=100)
    probe: str = Field(max_length=50)
    vantage: str = Field(max_length=64)
    count: int
    ok_count: int
    error_count: int
    rate_limited_count: int
    errors: str = Field(max_length=1000)
    """JSON object: error_type to count."""
    uptime: float | None = None
    ttft_count: int = 0
    ttft_p50_s: float | None = None
    ttft_p90_s: float | None = None
    ttft_p95_s: float | None = None
    ttft_p99_s: float | None = None
    ttfa_count: int = 0
    ttfa_p50_s: float | None = None
    ttfa_p90_s: float | None = None
    ttfa_p95_s: float | None = None
    ttfa_p99_s: float | None = None
    itl_count: int = 0
    itl_p50_s: float | None = None
    itl_p90_s: float | None = None
    itl_p95_s: float | None = None
    itl_p99_s: float | None = None
    e2e_count: int = 0
    e2e_p50_s: float | None = None
    e2e_p90_s: float | None = None
    e2e_p95_s: float | None = None
    e2e_p99_s: float | None = None
    output_tokens_per_s_count: int = 0
    output_tokens_per_s_p50: float | None = None
    output_tokens_per_s_p90: float | None = None
    output_tokens_per_s_p95: float | None = None
    output_tokens_per_s_p99: float | None = None
    cost_usd: float = 0.0
    computed_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class RollupState(SQLModel, table=True):
    """How far one prober's rollups have read the results table."""

    __tablename__ = "rollup_state"

    name: str = Field(primary_key=True, max_length=200)
    last_result_id: int
    updated_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False)
    )
