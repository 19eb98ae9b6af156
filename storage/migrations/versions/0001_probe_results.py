"""The result table, as the first release created it.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_FLOATS = (
    "ttft_s", "ttfa_s", "e2e_s", "itl_s", "chunk_gap_p50_s", "chunk_gap_p95_s",
    "chunk_gap_max_s",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "probe_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("probe", sa.String(50), nullable=False),
        sa.Column("vantage", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error_type", sa.String(32)),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error_message", sa.String(300)),
        *(sa.Column(name, sa.Float()) for name in _FLOATS),
        sa.Column("input_tokens", sa.Integer()),
        sa.Column("cached_input_tokens", sa.Integer()),
        sa.Column("output_tokens", sa.Integer()),
        sa.Column("reasoning_tokens", sa.Integer()),
        sa.Column("tokens_source", sa.String(16)),
        sa.Column("output_tokens_per_s", sa.Float()),
        sa.Column("finish_reason", sa.String(64)),
        sa.Column("response_model", sa.String(200)),
        sa.Column("system_fingerprint", sa.String(200)),
        sa.Column("cost_usd", sa.Float()),
        sa.Column("quality", sa.Float()),
        sa.Column("grade_correctness", sa.Float()),
        sa.Column("grade_code_quality", sa.Float()),
        sa.Column("grade_documentation", sa.Float()),
        sa.Column("grade_edge_cases", sa.Float()),
        sa.Column("grade_method", sa.String(16)),
        sa.Column("grade_failed_checks", sa.String(2000)),
        sa.Column("retry_after_s", sa.Float()),
        sa.Column("dns_s", sa.Float()),
        sa.Column("connect_s", sa.Float()),
        sa.Column("headers_s", sa.Float()),
        sa.Column("ratelimit_remaining_requests", sa.Integer()),
        sa.Column("ratelimit_remaining_tokens", sa.Integer()),
        sa.Column("context_tokens", sa.Integer()),
        sa.Column("needle_depth", sa.Float()),
        sa.Column("needle_found", sa.Boolean()),
    )
    op.create_index("ix_probe_results_started", "probe_results", ["started_at"])
    op.create_index(
        "ix_probe_results_model_probe_started",
        "probe_results",
        ["model", "probe", "started_at"],
    )


def downgrade() -> None:
    op.drop_table("probe_results")
