"""Context sweeps: the derived figures of each sweep and its cells.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _identity(uid_length: int) -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(uid_length), nullable=False, unique=True),
    ]


def _where(*, sweep_uid: bool = False) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = []
    if sweep_uid:
        columns.append(sa.Column("sweep_uid", sa.String(32), nullable=False))
    return columns + [
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("vantage", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "context_sweeps",
        *_identity(32),
        *_where(),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("ladder", sa.String(200), nullable=False),
        sa.Column("depths", sa.String(200), nullable=False),
        sa.Column("keep_ratio", sa.Float(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("baseline_accuracy", sa.Float(), nullable=True),
        sa.Column("effective_context_tokens", sa.Integer(), nullable=True),
        sa.Column("effective_at_top", sa.Boolean(), nullable=False),
        sa.Column("prefill_intercept_s", sa.Float(), nullable=True),
        sa.Column("prefill_slope_s_per_token", sa.Float(), nullable=True),
        sa.Column("prefill_tokens_per_s", sa.Float(), nullable=True),
        sa.Column("prefill_r2", sa.Float(), nullable=True),
        sa.Column("prefill_points", sa.Integer(), nullable=True),
    )
    op.create_index(
        "ix_context_sweeps_model_started", "context_sweeps", ["model", "started_at"]
    )
    op.create_table(
        "context_sweep_cells",
        *_identity(64),
        *_where(sweep_uid=True),
        sa.Column("length_tokens", sa.Integer(), nullable=False),
        sa.Column("length_label", sa.String(16), nullable=False),
        sa.Column("needle_depth", sa.Float(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("context_tokens", sa.Integer(), nullable=True),
        sa.Column("ttft_s", sa.Float(), nullable=True),
    )
    op.create_index(
        "ix_context_sweep_cells_sweep", "context_sweep_cells", ["sweep_uid"]
    )
    op.create_index(
        "ix_context_sweep_cells_model_started",
        "context_sweep_cells",
        ["model", "started_at"],
    )


def downgrade() -> None:
    op.drop_table("context_sweep_cells")
    op.drop_table("context_sweeps")
