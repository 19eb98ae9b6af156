"""Run prober's benchmarks: one table each, one JSON file for the run.

    python -m benchmarks                 # quick mode: a few minutes, CI-sized
    python -m benchmarks --full          # the figures for benchmarks/README.md
    python -m benchmarks --only fidelity,throughput
    python -m benchmarks --full --nice -10   # as root: shield from other load

Results go to ``benchmarks/results/<UTC time>-<mode>.json`` and
``benchmarks/results/latest-<mode>.json`` with the machine, the load average
before and after each benchmark, and every figure behind the tables. A
benchmark that fails is reported in the file and the summary, and the
others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from benchmarks import (
    bench_fidelity,
    bench_rollups,
    bench_scheduler,
    bench_sim_locust,
    bench_soak,
    bench_storage,
    bench_throughput,
)
from benchmarks.common import RESULTS, load_average, machine, print_table

BENCHMARKS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "fidelity": bench_fidelity.run,
    "throughput": bench_throughput.run,
    "scheduler": bench_scheduler.run,
    "storage": bench_storage.run,
    "simulator": bench_sim_locust.run,
    "soak": bench_soak.run,
    "rollups": bench_rollups.run,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}")
    niceness = _renice(args.nice)
    mode = "full" if args.full else "quick"

    started = datetime.now(UTC)
    run: dict[str, Any] = {
        "mode": mode,
        "started_at": started.isoformat(),
        "machine": machine(),
        "niceness": niceness,
        "benchmarks": {},
    }
    print(f"prober benchmarks, {mode} mode, {started:%Y-%m-%d %H:%M} UTC")
    print(f"machine: {run['machine']}; niceness {niceness}")
    failed = False
    for name in names:
        entry: dict[str, Any] = {"load_before": load_average()}
        began = time.perf_counter()
        try:
            entry["result"] = BENCHMARKS[name](args.full)
        except Exception as exc:  # one broken benchmark must not hide the rest
            failed = True
            entry["error"] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        entry["seconds"] = time.perf_counter() - began
        entry["load_after"] = load_average()
        print(
            f"({name}: {entry['seconds']:.0f} s, load average "
            f"{entry['load_before']} -> {entry['load_after']})",
            flush=True,
        )
        run["benchmarks"][name] = entry

    _summary(run)
    path = _write(run, started, mode)
    print(f"\nresults: {path}")
    return 1 if failed else 0


def _renice(requested: int | None) -> int:
    if requested:
        try:
            os.nice(requested)
        except PermissionError:
            print(f"cannot change niceness by {requested}: not permitted")
    return os.nice(0)


def _summary(run: dict[str, Any]) -> None:
    rows = []
    for name, entry in run["benchmarks"].items():
        if "error" in entry:
            rows.append([name, "error", entry["error"][:70]])
            continue
        for goal, met, figure in _goals(name, entry["result"]):
            rows.append([name, "met" if met else "MISSED", f"{goal}: {figure}"])
    print_table("Goals", ["benchmark", "status", "goal: measured"], rows, left=3)


def _goals(name: str, result: dict[str, Any]) -> list[tuple[str, bool, str]]:
    goals = result.get("goals", {})
    if name == "fidelity":
        out = []
        if "ttft_p99_at_50_ms" in goals:
            out.append(
                (
                    "prober TTFT error p99 <= 1 ms at 50 streams",
                    goals["ttft_p99_at_50_met"],
                    f"{goals['ttft_p99_at_50_ms']:.2f} ms",
                )
            )
        smallest = goals.get("smallest_ttft_p99_error_by_level", {})
        out.append(
            (
                "smallest TTFT p99 error at every level",
                goals.get("prober_smallest_everywhere", False),
                ", ".join(f"{k} streams: {v}" for k, v in smallest.items()),
            )
        )
        return out
    if name == "throughput":
        return [
            (
                "prober >= 3x openai SDK",
                goals["vs_openai_met"],
                f"{goals['prober_vs_openai']:.1f}x",
            ),
            (
                "bare aiohttp <= 1.5x prober",
                goals["vs_floor_met"],
                f"{goals['aiohttp_vs_prober']:.2f}x",
            ),
        ]
    if name == "scheduler":
        return [
            (
                "jobs with loop lag p99 < 5 ms >= 1,000",
                result["goal_met"],
                f"{result['most_jobs_within_goal']} jobs",
            )
        ]
    if name == "storage":
        times = ", ".join(
            f"{kind} {entry['report']['seconds_median'] * 1e3:.0f} ms"
            for kind, entry in result["backends"].items()
            if "report" in entry
        )
        return [
            (
                f"report over {result['report_rows']:,} rows < 1 s",
                result["goal_met"],
                times,
            )
        ]
    if name == "soak":
        return [
            (
                "soak: rows written == probes fired",
                result["goal_met"],
                f"{result['rows']:,} of {result['fired']:,} "
                f"(due {result['due']:,}); lag p99 "
                f"{result['lag_p99_ms']:.1f} ms; RSS {result['rss_start_mib']:.0f}"
                f" -> {result['rss_end_mib']:.0f} MiB",
            )
        ]
    if name == "rollups":
        steady = result["steady"]
        return [
            (
                "rollups: a pass after a minute of new rows < 1 s",
                result["goal_met"],
                f"{steady['seconds'] * 1e3:.0f} ms over {result['rows']:,} rows; "
                f"first pass {result['first']['seconds'] * 1e3:.0f} ms",
            )
        ]
    if name == "simulator":
        locust = result["locust"]
        top = result["simulator"]["rows"][-1]
        return [
            (
                "simulator (no goal)",
                True,
                f"{top['chunks_per_s']:.0f} chunks/s at {top['streams']} streams",
            ),
            (
                "Locust (no goal)",
                True,
                f"{locust['requests_per_s_per_core']:.0f} requests/s per core",
            ),
        ]
    return []


def _write(run: dict[str, Any], started: datetime, mode: str) -> str:
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(run, indent=1, default=str)
    path = RESULTS / f"{started:%Y%m%dT%H%M%SZ}-{mode}.json"
    path.write_text(text)
    (RESULTS / f"latest-{mode}.json").write_text(text)
    return str(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a few minutes (default)")
    size.add_argument("--full", action="store_true", help="longer, the README runs")
    parser.add_argument(
        "--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--nice",
        type=int,
        help="change this process's niceness (children inherit it); negative "
        "values need root and shield the runs from other load",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
