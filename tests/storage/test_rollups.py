"""Rollups, retention, answers and the aggregates, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, insert, select

from storage import ResultWriter, create_schema, make_engine
from storage.queries import ResultFilter, answer, latest_per_model, results_page
from storage.retention import prune
from storage.rollups import Rollups, RollupScope, update_rollups
from storage.stats import outcome_counts, rollup_outcome_counts
from storage.tables import ANSWER_MAX_CHARS, ProbeResult, ProbeRollup
from tests.storage.rows import BASE, result_row

SCOPE = RollupScope("test", vantage="local")


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def _write(engine: Engine, tmp_path: Path, rows: list[dict]) -> None:
    writer = ResultWriter(engine, tmp_path / "spill.jsonl")
    writer.start()
    for row in rows:
        writer.submit(row)
    writer.close()
    assert writer.written_total == len(rows)


def _rollups(engine: Engine, bucket_s: int) -> list:
    table = ProbeRollup.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        statement = (
            select(table)
            .where(table.c.bucket_s == bucket_s)
            .order_by(table.c.bucket_start)
        )
        return list(connection.execute(statement))


def test_buckets_hold_numpy_percentiles_counts_and_uptime(
    engine: Engine, tmp_path: Path
) -> None:
    ttfts = [0.1 * (i + 1) for i in range(20)]
    rows = [result_row(i * 10, ttft_s=t) for i, t in enumerate(ttfts)]
    rows += [
        result_row(5, ok=False, error_type="http_5xx", ttft_s=None),
        result_row(6, ok=False, error_type="rate_limited", ttft_s=None),
        result_row(400, ttft_s=9.0),  # the next 5-minute bucket
    ]
    _write(engine, tmp_path, rows)

    assert update_rollups(engine, SCOPE, now=BASE + timedelta(days=1)) > 0
    five = _rollups(engine, 300)
    first = five[0]
    assert first.count == 22 and first.ok_count == 20
    assert first.error_count == 2 and first.rate_limited_count == 1
    assert json.loads(first.errors) == {"http_5xx": 1, "rate_limited": 1}
    assert first.uptime == pytest.approx(20 / 21)
    expected = np.percentile(ttfts, [50, 90, 95, 99])
    got = [first.ttft_p50_s, first.ttft_p90_s, first.ttft_p95_s, first.ttft_p99_s]
    assert got == pytest.approx(list(expected))
    assert first.ttft_count == 20 and first.itl_count == 0 and first.itl_p50_s is None
    assert five[1].count == 1 and five[1].ttft_p50_s == 9.0

    hour = _rollups(engine, 3600)
    assert len(hour) == 1 and hour[0].count == 23


def test_late_rows_update_their_bucket_once(engine: Engine, tmp_path: Path) -> None:
    _write(engine, tmp_path, [result_row(1)])
    now = BASE + timedelta(days=2)
    update_rollups(engine, SCOPE, now=now)
    _write(engine, tmp_path, [result_row(2, ok=False, error_type="http_5xx")])
    update_rollups(engine, SCOPE, now=now)
    update_rollups(engine, SCOPE, now=now)
    five = _rollups(engine, 300)
    assert len(five) == 1
    assert (five[0].count, five[0].error_count) == (2, 1)


def _figures(engine: Engine) -> list[dict]:
    figures = []
    for bucket_s in (300, 3600):
        for row in _rollups(engine, bucket_s):
            figure = row._asdict()
            del figure["id"], figure["computed_at"]
            figures.append(figure)
    return figures


def test_passes_that_hold_recent_hours_agree_with_a_whole_pass(
    engine: Engine, tmp_path: Path
) -> None:
    rollups = Rollups(SCOPE)
    for minute in range(50, 80, 5):  # across an hour's end
        rows = [
            result_row(minute * 60 + i, ttft_s=0.01 * ((i * 7) % 13))
            for i in range(0, 300, 20)
        ]
        rows += [result_row(minute * 60 - 400, ok=False, error_type="timeout")]
        _write(engine, tmp_path, rows)
        rollups.update(engine, BASE + timedelta(minutes=minute + 5))
    held = _figures(engine)

    update_rollups(engine, SCOPE, now=BASE + timedelta(minutes=85))
    assert _figures(engine) == held
    assert sum(f["count"] for f in held if f["bucket_s"] == 3600) == 6 * 16


def test_a_pass_recomputes_only_the_buckets_new_rows_fall_in(
    engine: Engine, tmp_path: Path
) -> None:
    _write(engine, tmp_path, [result_row(i * 60) for i in range(30)])
    rollups = Rollups(SCOPE)
    now = BASE + timedelta(minutes=40)
    assert rollups.update(engine, now) == 6 + 1
    assert rollups.update(engine, now) == 0

    _write(engine, tmp_path, [result_row(31 * 60, ok=False, error_type="http_5xx")])
    assert rollups.update(engine, now) == 2  # its 5-minute bucket and its hour
    hour = _rollups(engine, 3600)
    assert (hour[0].count, hour[0].error_count) == (31, 1)


def test_rows_that_commit_below_the_id_read_are_found(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    create_schema(engine)
    results = ProbeResult.__table__  # type: ignore[attr-defined]
    rollups = Rollups(SCOPE)
    now = BASE + timedelta(minutes=70)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(results), [{**result_row(60), "id": n} for n in (10, 20)]
            )
        rollups.update(engine, now)
        # A batch that took its ids before the one above but committed after.
        with engine.begin() as connection:
            connection.execute(insert(results), [{**result_row(120), "id": 15}])
        rollups.update(engine, now)
        assert [row.count for row in _rollups(engine, 3600)] == [3]
    finally:
        engine.dispose()


def test_retention_drops_old_rows_and_answers_and_keeps_rollups(
    engine: Engine, tmp_path: Path
) -> None:
    old = result_row(0, answer="def flatten(): ...")
    new = result_row(86400 * 10)
    _write(engine, tmp_path, [old, new])
    update_rollups(engine, SCOPE, now=BASE + timedelta(days=11))

    rows, rollups = prune(
        engine,
        rows_before=BASE + timedelta(days=5),
        rollups_before=BASE - timedelta(days=1),
    )
    assert (rows, rollups) == (1, 0)
    assert answer(engine, old["uid"]) is None
    page, _ = results_page(engine, ResultFilter(), limit=10)
    assert [r["uid"] for r in page] == [new["uid"]]
    assert len(_rollups(engine, 3600)) == 2


def test_answers_are_kept_truncated_beside_their_result(
    engine: Engine, tmp_path: Path
) -> None:
    long = "x" * (ANSWER_MAX_CHARS + 10)
    row = result_row(0, answer=long)
    _write(engine, tmp_path, [row, result_row(1)])
    stored = answer(engine, row["uid"])
    assert stored is not None
    assert stored["truncated"] and stored["answer_chars"] == len(long)
    assert len(stored["answer"]) == ANSWER_MAX_CHARS


def test_outcomes_leave_out_rate_limits_and_maintenance(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [result_row(i) for i in range(6)]
    rows += [result_row(10, ok=False, error_type="http_5xx")]
    rows += [result_row(11, ok=False, error_type="rate_limited")]
    rows += [result_row(100 + i, ok=False, error_type="http_5xx") for i in range(5)]
    _write(engine, tmp_path, rows)
    until = BASE + timedelta(hours=1)
    window = (BASE + timedelta(seconds=100), BASE + timedelta(seconds=200), ())

    counts = outcome_counts(engine, BASE, until, [window])["glm-5"]
    assert (counts.ok, counts.errors, counts.rate_limited) == (6, 1, 1)
    other_model = (window[0], window[1], ("qwen3-32b",))
    counts = outcome_counts(engine, BASE, until, [other_model])["glm-5"]
    assert counts.errors == 6

    update_rollups(engine, SCOPE, now=until)
    counts = rollup_outcome_counts(engine, BASE, until)["glm-5"]
    assert (counts.ok, counts.errors, counts.rate_limited) == (6, 6, 1)


def test_results_page_through_with_a_cursor(engine: Engine, tmp_path: Path) -> None:
    rows = [result_row(i // 2) for i in range(9)]  # pairs share a start time
    rows[4].update(ok=False, error_type="http_5xx")
    _write(engine, tmp_path, rows)
    seen, cursor = [], None
    while True:
        page, cursor = results_page(engine, ResultFilter(), limit=4, cursor=cursor)
        seen += [r["uid"] for r in page]
        if cursor is None:
            break
    assert sorted(seen) == sorted(r["uid"] for r in rows) and len(seen) == 9
    failed, _ = results_page(engine, ResultFilter(ok=False), limit=10)
    assert [r["uid"] for r in failed] == [rows[4]["uid"]]
    latest = latest_per_model(engine, ["glm-5"], failed_only=True)
    assert latest["glm-5"]["error_type"] == "http_5xx"
