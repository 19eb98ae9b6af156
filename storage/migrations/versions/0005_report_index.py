"""A covering index for the reports: the (model, probe, started_at) index
widened with every column the ranking, uptime and spend queries read.

Those queries read most rows of a long window. Through the narrow index
each row costs a lookup in the table (a random read on SQLite, 400-odd
bytes a row); with the columns in the index they read it alone, in order.
It replaces the narrow index, whose queries it serves as well.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

REPORT_COLUMNS = [
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
]


def upgrade() -> None:
    # A database adopted from before migrations may have it already.
    op.create_index(
        "ix_probe_results_report", "probe_results", REPORT_COLUMNS, if_not_exists=True
    )
    op.drop_index(
        "ix_probe_results_model_probe_started", "probe_results", if_exists=True
    )


def downgrade() -> None:
    op.create_index(
        "ix_probe_results_model_probe_started",
        "probe_results",
        ["model", "probe", "started_at"],
    )
    op.drop_index("ix_probe_results_report", "probe_results")
