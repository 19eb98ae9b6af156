"""Result rows for storage tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import RECORD_FIELDS

BASE = datetime(2026, 12, 1, tzinfo=UTC)


def result_row(seconds: float = 0.0, **overrides: Any) -> dict[str, Any]:
    """A successful ping of glm-5, ``seconds`` after :data:`BASE`."""
    row: dict[str, Any] = dict.fromkeys(RECORD_FIELDS)
    row.update(
        uid=uuid.uuid4().hex,
        started_at=BASE + timedelta(seconds=seconds),
        model="glm-5",
        provider="simulator",
        probe="ping",
        vantage="local",
        ok=True,
        ttft_s=0.25,
        e2e_s=1.5,
        output_tokens=3,
        tokens_source="usage",
    )
    row.update(overrides)
    return row
