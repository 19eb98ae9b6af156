"""Rollups: what one pass costs once the service has run for a while.

An SQLite file is filled with result rows at the soak's rate (200 models x
6 probes, 80 rows/s) for ``minutes`` minutes, spread over every group.
Then, as the service does once a minute: a pass, a minute of new rows, and
the pass measured (wall and thread CPU seconds, rollup buckets written,
Python memory at its peak with tracemalloc, in a second measured pass so
tracing does not slow the first), while a 10 ms ticker on an event loop in
the main thread records how late it wakes: the lag the pass, run in a
worker thread as the service runs it, adds to every timing taken there.
Last, a pass that holds nothing yet (the first one after a start).

Quick mode fills 65 minutes (the current hour nearly full and the start of
the previous one), full mode 119 (both hours full).

    python -m benchmarks.bench_rollups [--full]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, insert

from benchmarks.common import load_average, print_table, quantiles

RATE_PER_S = 80
GROUPS = [
    (f"soak-{number:03d}", probe)
    for number in range(200)
    for probe in ("ping", "code-review", "dijkstra", "express", "flatten", "race")
]
START = datetime(2026, 12, 1, 10, tzinfo=UTC)
_TICK_S = 0.01


def fill(engine: Engine, first_s: int, end_s: int, seed: int = 1) -> int:
    """Rows from ``first_s`` to ``end_s`` seconds after START, one minute
    per insert; returns how many."""
    from storage import ProbeResult

    table = ProbeResult.__table__  # type: ignore[attr-defined]
    random = np.random.default_rng(seed + first_s)
    written = 0
    for minute_s in range(first_s, end_s, 60):
        count = min(60, end_s - minute_s) * RATE_PER_S
        ok = random.random(count) > 0.02
        values = random.random((count, 6))
        rows = []
        for index in range(count):
            model, probe = GROUPS[(written + index) % len(GROUPS)]
            success = bool(ok[index])
            ttft, ttfa, itl, e2e, speed, cost = values[index].tolist()
            rows.append(
                {
                    "uid": uuid.uuid4().hex,
                    "started_at": START
                    + timedelta(seconds=minute_s + index / RATE_PER_S),
                    "model": model,
                    "provider": "soak",
                    "probe": probe,
                    "vantage": "local",
                    "ok": success,
                    "error_type": None if success else "http_5xx",
                    "ttft_s": ttft if success else None,
                    "ttfa_s": ttfa if success else None,
                    "itl_s": itl / 50 if success else None,
                    "e2e_s": e2e * 3 if success else None,
                    "output_tokens_per_s": speed * 400 if success else None,
                    "cost_usd": cost / 1e4,
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(table), rows)
        written += count
    return written


async def _timed(call: Callable[[], int]) -> dict[str, Any]:
    """``call`` in a worker thread, with the loop's lag meanwhile."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    cpu: list[float] = []

    def measured() -> int:
        began = time.thread_time()
        try:
            return call()
        finally:
            cpu.append(time.thread_time() - began)

    began = time.perf_counter()
    future = loop.run_in_executor(None, measured)
    while not future.done():
        before = loop.time()
        await asyncio.sleep(_TICK_S)
        lags.append(loop.time() - before - _TICK_S)
    buckets = await future
    seconds = time.perf_counter() - began
    p50, p99 = quantiles(lags)
    return {
        "seconds": seconds,
        "thread_cpu_s": cpu[0],
        "buckets": buckets,
        "lag_p50_ms": p50 * 1e3,
        "lag_p99_ms": p99 * 1e3,
        "lag_max_ms": max(lags, default=float("nan")) * 1e3,
    }


def _traced(call: Callable[[], int]) -> float:
    """Python memory at the peak of ``call``, MiB."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(minutes: int) -> dict[str, Any]:
    from storage import create_schema, make_engine
    from storage.rollups import Rollups, RollupScope, update_rollups

    scope = RollupScope("bench", vantage="local")
    with tempfile.TemporaryDirectory(prefix="rollups-") as scratch:
        engine = make_engine(str(Path(scratch) / "prober.db"))
        try:
            create_schema(engine)
            end_s = (minutes - 2) * 60
            rows = fill(engine, 0, end_s)
            rollups = Rollups(scope)
            rollups.update(engine, START + timedelta(seconds=end_s))
            rows += fill(engine, end_s, end_s + 60)
            now = START + timedelta(seconds=end_s + 60)
            steady = asyncio.run(_timed(lambda: rollups.update(engine, now)))
            rows += fill(engine, end_s + 60, end_s + 120)
            now += timedelta(minutes=1)
            steady["traced_peak_mib"] = _traced(lambda: rollups.update(engine, now))
            first = asyncio.run(_timed(lambda: update_rollups(engine, scope, now)))
        finally:
            engine.dispose()
    return {"minutes": minutes, "rows": rows, "steady": steady, "first": first}


def run(full: bool = False) -> dict[str, Any]:
    load = load_average()
    result = measure(119 if full else 65)
    result["load_before"] = load
    result["load_after"] = load_average()
    result["goal_met"] = result["steady"]["seconds"] < 1.0
    _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    rows = []
    for name in ("steady", "first"):
        figures = result[name]
        rows.append(
            [
                name,
                figures["seconds"],
                figures["thread_cpu_s"],
                figures["buckets"],
                figures["lag_p50_ms"],
                figures["lag_p99_ms"],
                figures["lag_max_ms"],
                f"{figures.get('traced_peak_mib', float('nan')):.1f}",
            ]
        )
    print_table(
        f"Rollups: one pass over {result['rows']:,} rows "
        f"({result['minutes']} minutes at {RATE_PER_S}/s), load1 "
        f"{result['load_before'][0]:.1f}-{result['load_after'][0]:.1f}",
        [
            "pass",
            "seconds",
            "thread CPU s",
            "buckets",
            "lag p50 ms",
            "lag p99 ms",
            "lag max ms",
            "traced peak MiB",
        ],
        rows,
    )
    print(
        "steady: the pass after a minute of new rows, as the service runs it; "
        "first: a pass that holds nothing yet (after a start)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_rollups")
    parser.add_argument("--full", action="store_true")
    run(parser.parse_args(argv).full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
