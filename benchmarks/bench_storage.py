"""Storage: rows per second through the batched writer, and the time of
prober's own report over a million rows, on SQLite and on PostgreSQL.

* Writer: full result records (every column filled as a probe fills it) are
  submitted to :class:`storage.writer.ResultWriter` as fast as a loop can,
  then flushed; rows/s is rows over the time from first submit to flushed.
* Report: the table is bulk-loaded with a million rows (the ten catalog
  models, seven probes, 30 days; loading is not timed) at migration 0004,
  the schema before the report index, and the report ``prober report
  --since 30d`` prints is timed: :func:`prober.report.ranking_sections`
  (ranking, quality by task, spend by day) over the default catalog. Then
  the database is upgraded to the newest migration (that time is shown
  too: it is what upgrading a full database costs) and the report timed
  again. Goal: under 1 s. Timed as the median of three runs after one
  warm-up run (one run at 0004 in full mode, where it takes many seconds).
  Quick mode loads 100,000 rows; the goal is judged on full mode's million.

PostgreSQL is ``postgresql://postgres@127.0.0.1:5432/test`` (override with
``PROBER_BENCH_POSTGRES_URL``); the benchmark works in a scratch database it
creates and drops. After the bulk load PostgreSQL gets ``VACUUM ANALYZE``,
which autovacuum does on its own after a load of this size.

    python -m benchmarks.bench_storage [--full]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text

from benchmarks.common import load_average, print_table
from prober.catalog import CONTEXT, PING, Catalog, build_catalog
from prober.config import load_config
from prober.report import ranking_sections
from storage import ResultWriter, create_schema, make_engine
from storage.migrate import upgrade
from storage.tables import ProbeResult

POSTGRES_ADMIN_URL = os.environ.get(
    "PROBER_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CATALOG: Catalog = build_catalog(load_config(None))
MODELS = list(CATALOG.models)
PROBES = list(CATALOG.tasks)
BEFORE_REVISION = "0004"
"""The schema before the report index (migration 0005)."""
GOAL_REPORT_S = 1.0
COLUMNS = [name for name in ProbeResult.model_fields if name != "id"]


def synthetic_rows(count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """Result records as a probe fills them, spread over the last 30 days."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    offsets = rng.uniform(0, 30 * 86400, count)
    ttft = rng.lognormal(-0.5, 0.6, count)
    tokens = rng.integers(8, 2048, count)
    failed = rng.random(count) < 0.02
    quality = rng.uniform(3.0, 9.5, count)
    for i in range(count):
        ok = not failed[i]
        speed = 40.0 + (i % 50)
        probe = PROBES[(i // len(MODELS)) % len(PROBES)]
        graded = ok and probe not in (PING, CONTEXT)
        yield {
            "uid": f"{seed:08x}{i:024x}",
            "started_at": now - timedelta(seconds=float(offsets[i])),
            "model": MODELS[i % len(MODELS)],
            "provider": "simulator",
            "probe": probe,
            "vantage": "local",
            "ok": ok,
            "error_type": None if ok else "http_5xx",
            "status_code": 200 if ok else 503,
            "error_message": None if ok else "HTTP 503: upstream unavailable",
            "ttft_s": float(ttft[i]) if ok else None,
            "ttfa_s": float(ttft[i]) if ok else None,
            "e2e_s": float(ttft[i] + tokens[i] / speed) if ok else 0.1,
            "itl_s": 1 / speed if ok else None,
            "chunk_gap_p50_s": 1 / speed if ok else None,
            "chunk_gap_p95_s": 1.5 / speed if ok else None,
            "chunk_gap_max_s": 3 / speed if ok else None,
            "input_tokens": 120,
            "cached_input_tokens": None,
            "output_tokens": int(tokens[i]) if ok else None,
            "reasoning_tokens": None,
            "tokens_source": "usage" if ok else None,
            "output_tokens_per_s": speed if ok else None,
            "finish_reason": "stop" if ok else None,
            "response_model": MODELS[i % len(MODELS)] if ok else None,
            "system_fingerprint": "fp_bench" if ok else None,
            "cost_usd": float(tokens[i]) * 1e-6 if ok else None,
            "quality": float(quality[i]) if graded else None,
            "grade_correctness": None,
            "grade_code_quality": None,
            "grade_documentation": None,
            "grade_edge_cases": None,
            "grade_method": None,
            "grade_failed_checks": None,
            "retry_after_s": None,
            "dns_s": None,
            "connect_s": None,
            "headers_s": 0.01,
            "ratelimit_remaining_requests": None,
            "ratelimit_remaining_tokens": None,
            "context_tokens": None,
            "needle_depth": None,
            "needle_found": None,
        }


@contextmanager
def database(kind: str) -> Iterator[str | None]:
    """A fresh database URL of ``kind``; ``None`` when PostgreSQL is away."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="storage-") as scratch:
            yield str(Path(scratch) / "bench.db")
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"prober_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # unreachable: the table says so
        admin.dispose()
        yield None
        return
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def writer_rate(url: str, rows: int) -> dict[str, Any]:
    engine = make_engine(url)
    create_schema(engine)
    records = list(synthetic_rows(rows, seed=2))
    with tempfile.TemporaryDirectory(prefix="spill-") as scratch:
        writer = ResultWriter(engine, Path(scratch) / "bench.spill")
        writer.start()
        began = time.perf_counter()
        for record in records:
            writer.submit(record)
        submitted = time.perf_counter() - began
        flushed = writer.flush(timeout_s=600)
        elapsed = time.perf_counter() - began
        writer.close()
    engine.dispose()
    return {
        "rows": rows,
        "flushed": flushed,
        "seconds": elapsed,
        "rows_per_s": rows / elapsed,
        "submit_us_per_row": submitted / rows * 1e6,
    }


def bulk_load(url: str, rows: int, revision: str = "head") -> float:
    """Fill the table at schema ``revision`` fast (not the writer's path);
    returns seconds."""
    engine = make_engine(url)
    upgrade(engine, revision)
    began = time.perf_counter()
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        batch: list[tuple] = []
        for record in synthetic_rows(rows):
            batch.append(tuple(record[c] for c in COLUMNS))
            if len(batch) >= 50_000:
                _insert(engine.dialect.name, cursor, batch)
                batch = []
        if batch:
            _insert(engine.dialect.name, cursor, batch)
        connection.commit()
    finally:
        connection.close()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as autocommit:
            autocommit.execute(text("VACUUM ANALYZE probe_results"))
    engine.dispose()
    return time.perf_counter() - began


def _insert(dialect: str, cursor: Any, batch: list[tuple]) -> None:
    names = ", ".join(COLUMNS)
    if dialect == "postgresql":
        with cursor.copy(f"COPY probe_results ({names}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(COLUMNS))
    cursor.executemany(f"INSERT INTO probe_results ({names}) VALUES ({marks})", batch)


def report_time(url: str, repeats: int = 3) -> dict[str, Any]:
    """Time ``prober report --since 30d``'s sections over the whole table."""
    engine = make_engine(url)
    since = datetime.now(UTC) - timedelta(days=30)
    sections = ranking_sections(engine, CATALOG, since)  # warm-up: caches, plans
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        sections = ranking_sections(engine, CATALOG, since)
        times.append(time.perf_counter() - began)
    engine.dispose()
    ranked = sections[0].rows
    return {
        "sections": [section.name for section in sections],
        "models_ranked": sum(1 for row in ranked if row["ttft_p50_s"] is not None),
        "probes_counted": sum(row["probes"] for row in ranked),
        "ranking": ranked,
        "seconds_median": statistics.median(times),
        "seconds_all": times,
    }


def migrate_to_head(url: str) -> float:
    """Upgrade a loaded database to the newest migration; returns seconds."""
    engine = make_engine(url)
    began = time.perf_counter()
    create_schema(engine)
    elapsed = time.perf_counter() - began
    engine.dispose()
    return elapsed


def run(full: bool = False) -> dict[str, Any]:
    writer_rows = 100_000 if full else 20_000
    report_rows = 1_000_000 if full else 100_000
    results: dict[str, Any] = {}
    for kind in ("sqlite", "postgresql"):
        entry: dict[str, Any] = {"load_before": load_average()}
        with database(kind) as url:
            if url is None:
                entry["skipped"] = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}"
                results[kind] = entry
                continue
            entry["writer"] = writer_rate(url, writer_rows)
        with database(kind) as url:
            assert url is not None
            entry["bulk_load_s"] = bulk_load(url, report_rows, BEFORE_REVISION)
            entry["report_before"] = report_time(url, repeats=1 if full else 3)
            entry["migrate_s"] = migrate_to_head(url)
            entry["report"] = report_time(url)
            entry["report"]["rows"] = report_rows
        entry["load_after"] = load_average()
        results[kind] = entry
    reports = [r["report"]["seconds_median"] for r in results.values() if "report" in r]
    summary = {
        "backends": results,
        "report_rows": report_rows,
        "goal_report_s": GOAL_REPORT_S,
        "goal_met": bool(reports) and max(reports) < GOAL_REPORT_S,
    }
    _print(summary)
    return summary


def _print(summary: dict[str, Any]) -> None:
    rows = []
    for kind, entry in summary["backends"].items():
        if "skipped" in entry:
            rows.append([kind, entry["skipped"], "-", "-", "-", "-", "-", "-"])
            continue
        writer, report = entry["writer"], entry["report"]
        rows.append(
            [
                kind,
                writer["rows_per_s"],
                writer["submit_us_per_row"],
                report["rows"],
                entry["report_before"]["seconds_median"] * 1e3,
                entry["migrate_s"],
                report["seconds_median"] * 1e3,
                f"{entry['load_before'][0]:.1f}",
            ]
        )
    print_table(
        "Storage: batched writer and prober's report",
        [
            "backend",
            "writer rows/s",
            "submit us/row",
            "report rows",
            f"report ms at {BEFORE_REVISION}",
            "migrate s",
            "report ms",
            "load1",
        ],
        rows,
    )
    print(
        "report: `prober report --since 30d` (ranking, quality by task, spend "
        f"by day) over the default catalog; goal < {GOAL_REPORT_S * 1e3:.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_storage")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    run(args.full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
