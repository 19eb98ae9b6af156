"""Capacity tests: each Locust run and its stages per model.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PERCENTILES = (
    "ttft_p50_s", "ttft_p95_s", "ttft_p99_s", "ttfa_p50_s", "ttfa_p95_s",
    "e2e_p50_s", "e2e_p95_s", "e2e_p99_s", "output_tokens_per_s_p50",
)  # fmt: skip


def _when(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "load_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("shape", sa.String(32), nullable=False),
        sa.Column("host", sa.String(300), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("vantage", sa.String(64), nullable=False),
        _when("started_at"),
        _when("ended_at", nullable=True),
        sa.Column("slo_ttft_p95_s", sa.Float(), nullable=False),
        sa.Column("slo_error_rate", sa.Float(), nullable=False),
        sa.Column("knee_stage", sa.Integer(), nullable=True),
        sa.Column("knee_users", sa.Integer(), nullable=True),
        sa.Column("knee_request_rate", sa.Float(), nullable=True),
        sa.Column("saturated", sa.Boolean(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=True),
    )
    op.create_index("ix_load_runs_started", "load_runs", ["started_at"])
    op.create_table(
        "load_stages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("load_runs.id"), nullable=False
        ),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        _when("started_at"),
        _when("ended_at"),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("users_start", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("request_rate", sa.Float(), nullable=False),
        sa.Column("error_rate", sa.Float(), nullable=True),
        sa.Column("failures_by_type", sa.JSON(), nullable=True),
        *(sa.Column(name, sa.Float(), nullable=True) for name in _PERCENTILES),
        sa.Column("meets_slo", sa.Boolean(), nullable=True),
        sa.UniqueConstraint("run_id", "stage_index", "model"),
    )
    op.create_index("ix_load_stages_run", "load_stages", ["run_id"])


def downgrade() -> None:
    op.drop_table("load_stages")
    op.drop_table("load_runs")
