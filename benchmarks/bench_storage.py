"""Storage: rows per second through the batched writer, and the time of a
percentile report over a million rows, on SQLite and on PostgreSQL.

* Writer: full result records (every column filled as a probe fills it) are
  submitted to :class:`storage.writer.ResultWriter` as fast as a loop can,
  then flushed; rows/s is rows over the time from first submit to flushed.
* Report: the table is bulk-loaded with a million rows (ten models, seven
  probes, 30 days; loading is not timed), then
  :func:`benchmarks.report_query.percentile_report` computes p50/p95/p99 of
  TTFT per model and probe over the whole range. Goal: under 1 s. Timed as
  the median of three runs after one warm-up run. On SQLite it is timed
  again with a covering index (model, probe, started_at, ok, ttft_s) that
  the schema does not have yet, to show what one would buy. Quick mode loads
  100,000 rows; the goal is judged on full mode's million.

PostgreSQL is ``postgresql://postgres@127.0.0.1:5432/test`` (override with
``PROBER_BENCH_POSTGRES_URL``); the benchmark works in a scratch database it
creates and drops.

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
from benchmarks.report_query import COVERING_INDEX, percentile_report
from storage import ResultWriter, create_schema, make_engine
from storage.tables import ProbeResult

POSTGRES_ADMIN_URL = os.environ.get(
    "PROBER_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MODELS = [
    "qwen3-coder-30b",
    "deepseek-v4-flash",
    "deepseek-coder",
    "deepseek-v4-pro",
    "deepseek-r1",
    "kimi-k2.5",
    "glm-5",
    "minimax-m2",
    "gpt-5-codex",
    "claude-sonnet",
]
PROBES = [
    "ping",
    "flatten",
    "race-condition",
    "dijkstra",
    "code-review",
    "express-endpoint",
    "context",
]
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
    for i in range(count):
        ok = not failed[i]
        speed = 40.0 + (i % 50)
        yield {
            "uid": f"{seed:08x}{i:024x}",
            "started_at": now - timedelta(seconds=float(offsets[i])),
            "model": MODELS[i % len(MODELS)],
            "provider": "simulator",
            "probe": PROBES[(i // len(MODELS)) % len(PROBES)],
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
            "quality": None,
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


def bulk_load(url: str, rows: int) -> float:
    """Fill the table fast (not the writer's path); returns seconds."""
    engine = make_engine(url)
    create_schema(engine)
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
        if engine.dialect.name == "postgresql":
            cursor.execute("ANALYZE probe_results")
            connection.commit()
    finally:
        connection.close()
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


def report_time(url: str, index: str | None = None, repeats: int = 3) -> dict:
    engine = make_engine(url)
    since = datetime.now(UTC) - timedelta(days=31)
    report = percentile_report(engine, since, index)  # warm-up: caches, plans
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        report = percentile_report(engine, since, index)
        times.append(time.perf_counter() - began)
    engine.dispose()
    return {
        "groups": len(report),
        "values": sum(row["count"] for row in report),
        "seconds_median": statistics.median(times),
        "seconds_all": times,
    }


def add_covering_index(url: str) -> str:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(COVERING_INDEX))
    engine.dispose()
    return "ix_report_ttft"


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
            entry["bulk_load_s"] = bulk_load(url, report_rows)
            entry["report"] = report_time(url)
            entry["report"]["rows"] = report_rows
            if kind == "sqlite":
                index = add_covering_index(url)
                entry["report_covering_index"] = report_time(url, index)
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
            rows.append([kind, entry["skipped"], "-", "-", "-", "-"])
            continue
        writer, report = entry["writer"], entry["report"]
        rows.append(
            [
                kind,
                writer["rows_per_s"],
                writer["submit_us_per_row"],
                report["rows"],
                report["seconds_median"] * 1e3,
                f"{entry['load_before'][0]:.1f}",
            ]
        )
        if "report_covering_index" in entry:
            covered = entry["report_covering_index"]
            rows.append(
                [
                    f"{kind} + covering index",
                    "-",
                    "-",
                    report["rows"],
                    covered["seconds_median"] * 1e3,
                    "",
                ]
            )
    print_table(
        "Storage: batched writer and percentile report",
        [
            "backend",
            "writer rows/s",
            "submit us/row",
            "report rows",
            "report ms",
            "load1",
        ],
        rows,
    )
    print(
        "report: p50/p95/p99 of TTFT per (model, probe), numpy over fetched "
        f"columns; goal < {GOAL_REPORT_S * 1e3:.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_storage")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    run(args.full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
