"""Answers beside their results; percentile rollups and their progress.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIMINGS = ("ttft", "ttfa", "itl", "e2e")
_QUANTILES = ("p50", "p90", "p95", "p99")


def upgrade() -> None:
    op.create_table(
        "probe_answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "uid",
            sa.String(32),
            sa.ForeignKey("probe_results.uid", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answer_chars", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
    )
    op.create_table("probe_rollups", *_rollup_columns())
    op.create_index(
        "ux_probe_rollups_key",
        "probe_rollups",
        ["bucket_s", "bucket_start", "model", "provider", "probe", "vantage"],
        unique=True,
    )
    op.create_index(
        "ix_probe_rollups_model_start", "probe_rollups", ["model", "bucket_start"]
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("last_result_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def _rollup_columns() -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bucket_s", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("probe", sa.String(50), nullable=False),
        sa.Column("vantage", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("ok_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("rate_limited_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.String(1000), nullable=False),
        sa.Column("uptime", sa.Float()),
    ]
    for timing in _TIMINGS:
        columns.append(sa.Column(f"{timing}_count", sa.Integer(), nullable=False))
        columns += [sa.Column(f"{timing}_{q}_s", sa.Float()) for q in _QUANTILES]
    speed = "output_tokens_per_s"
    columns.append(sa.Column(f"{speed}_count", sa.Integer(), nullable=False))
    columns += [sa.Column(f"{speed}_{q}", sa.Float()) for q in _QUANTILES]
    columns.append(sa.Column("cost_usd", sa.Float(), nullable=False))
    columns.append(sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False))
    return columns


def downgrade() -> None:
    op.drop_table("rollup_state")
    op.drop_table("probe_rollups")
    op.drop_table("probe_answers")
