"""Result rows for storage tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage import RECORD_FIELDS, ResultWriter, create_schema, make_engine

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


def fill(url: str, tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    """Bring the database at ``url`` to the newest schema and write ``rows``
    through the result writer."""
    engine = make_engine(url)
    create_schema(engine)
    writer = ResultWriter(engine, tmp_path / "spill.jsonl")
    writer.start()
    for row in rows:
        writer.submit(row)
    writer.close()
    engine.dispose()
