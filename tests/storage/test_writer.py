"""The batched writer on SQLite and PostgreSQL: rows arrive whole, once,
and survive the database being away."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from storage import RECORD_FIELDS, ProbeResult, ResultWriter, create_schema, make_engine


def _row(index: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in RECORD_FIELDS}
    row.update(
        uid=uuid.uuid4().hex,
        started_at=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=index),
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


def _stored(url: str) -> list[ProbeResult]:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = list(session.exec(select(ProbeResult).order_by(ProbeResult.started_at)))
    engine.dispose()
    return rows


def test_rows_round_trip_with_nulls_kept(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    writer = ResultWriter(engine, tmp_path / "spill.jsonl", batch_size=7)
    writer.start()
    rows = [_row(i) for i in range(50)]
    rows[3].update(ok=False, error_type="http_5xx", status_code=503, ttft_s=None)
    for row in rows:
        writer.submit(row)
    writer.close()
    engine.dispose()

    stored = _stored(database_url)
    assert len(stored) == 50
    assert writer.written_total == 50 and writer.queue_depth == 0
    failed = stored[3].record()
    assert failed["error_type"] == "http_5xx" and failed["ttft_s"] is None
    assert failed["itl_s"] is None and failed["cost_usd"] is None
    assert failed["started_at"] == "2026-12-01T00:00:03+00:00"
    assert set(failed) == set(RECORD_FIELDS)


def test_a_row_written_twice_is_stored_once(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    writer = ResultWriter(engine, tmp_path / "spill.jsonl")
    writer.start()
    row = _row(1)
    writer.submit(row)
    writer.submit(dict(row))
    writer.close()
    engine.dispose()
    assert len(_stored(database_url)) == 1


def test_rows_wait_spill_and_arrive_when_the_database_returns(tmp_path: Path) -> None:
    # The database file's folder does not exist yet: SQLite cannot open it,
    # as if the database were away. Creating the folder brings it back.
    folder = tmp_path / "later"
    url = f"sqlite:///{folder / 'prober.db'}"
    spill = tmp_path / "spill.jsonl"
    engine = make_engine(url)
    writer = ResultWriter(
        engine, spill, max_pending=10, flush_interval_s=0.05, retry_interval_s=0.1
    )
    writer.start()
    for i in range(25):
        writer.submit(_row(i))
    assert not writer.flush(timeout_s=1.0)
    assert not writer.healthy
    assert writer.spilled_total == 15
    assert writer.spill_rows == 15
    assert writer.queue_depth == 10

    folder.mkdir()
    create_schema(engine)
    assert writer.flush(timeout_s=10.0)
    writer.close()
    engine.dispose()
    assert writer.healthy
    assert not spill.exists()
    assert [r.started_at.second for r in _stored(url)] == list(range(25))


def _until(check: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_rows_go_to_the_spill_file_once_the_database_is_away_a_while(
    tmp_path: Path,
) -> None:
    # Memory does not survive a crash: past max_wait_s of outage, no row
    # waits there.
    folder = tmp_path / "later"
    url = f"sqlite:///{folder / 'prober.db'}"
    spill = tmp_path / "spill.jsonl"
    engine = make_engine(url)
    writer = ResultWriter(
        engine, spill, flush_interval_s=0.02, retry_interval_s=0.05, max_wait_s=0.2
    )
    writer.start()
    writer.submit(_row(0))
    _until(lambda: writer.spill_rows == 1)
    writer.submit(_row(1))
    _until(lambda: writer.spill_rows == 2)
    assert writer.queue_depth == 0 and not writer.healthy

    folder.mkdir()
    create_schema(engine)
    assert writer.flush(timeout_s=10.0)
    writer.close()
    engine.dispose()
    assert not spill.exists()
    assert [r.started_at.second for r in _stored(url)] == [0, 1]


def test_rows_left_at_shutdown_are_replayed_at_next_start(tmp_path: Path) -> None:
    folder = tmp_path / "later"
    url = f"sqlite:///{folder / 'prober.db'}"
    spill = tmp_path / "spill.jsonl"
    engine = make_engine(url)
    writer = ResultWriter(engine, spill, flush_interval_s=0.05)
    writer.start()
    for i in range(5):
        writer.submit(_row(i))
    writer.close(timeout_s=5)
    engine.dispose()
    assert writer.spill_rows == 5

    folder.mkdir()
    engine = make_engine(url)
    create_schema(engine)
    writer = ResultWriter(engine, spill)
    writer.start()
    writer.close()
    engine.dispose()
    assert len(_stored(url)) == 5
    assert not spill.exists()


def test_a_row_the_database_refuses_is_kept_aside(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    spill = tmp_path / "spill.jsonl"
    writer = ResultWriter(engine, spill)
    writer.start()
    writer.submit(_row(1))
    writer.submit(_row(2, model=None))  # NOT NULL column
    writer.submit(_row(3))
    writer.close()
    engine.dispose()
    assert len(_stored(database_url)) == 2
    assert writer.rejected_total == 1
    assert spill.with_suffix(".rejected").read_text().count("\n") == 1
