"""Soak: the service running a large catalog for minutes against the
simulator, watched for event-loop lag, memory growth and lost rows.

A prober process runs the real service (:class:`prober.service.Service`:
scheduler, runner, streaming client, metrics, batched SQLite writer) over 200
simulated models times 6 probes (``ping`` and the five coding tasks, each on
its own short interval) against ``python -m simulator`` with a profile file
of those 200 models, fast and fault-free. Grading is off, so the figures are
probing's own cost: answers are stored ungraded, as with no grading pool.

In the prober process a monitor task sleeps 10 ms at a time and records how
late it wakes (the lag every timing taken there carries); resident memory is
read at the start, every 10 s and at the end. At the end, every probe fired
must be a row in the database (``rows == fired``). Beside them: ``nominal``,
jobs x window / interval, and ``due``, the runs the scheduler planned in the
window (started plus skipped). Due may fall short of nominal by up to one
run per job (a job's first run comes within its start-up slot, its last may
fall just past the window), never by a share of the window.

Quick mode soaks for about a minute, full mode for five.

    python -m benchmarks.bench_soak [--full]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ROOT,
    child_server,
    load_average,
    pin_to,
    print_table,
    quantiles,
)

MODELS = 200
CODING_TASKS = (
    "code-review",
    "dijkstra",
    "express-endpoint",
    "flatten",
    "race-condition",
)
PROBES = ("ping", *CODING_TASKS)
_TICK_S = 0.01
_MEMORY_EVERY_S = 10.0
_DRAIN_S = 60.0
_JITTER_S = 1.5  # prober's default for a 15 s interval: a tenth of it


def profiles(models: int = MODELS) -> str:
    """The simulator's profile file: ``models`` fast, fault-free models."""
    lines = []
    for number in range(models):
        lines += [
            f"[models.soak-{number:03d}]",
            'owned_by = "Soak"',
            "capacity = 64",
            "queue = 1024",
            "prefill_tokens_per_s = 1000000.0",
            "ttft = { median_s = 0.05, sigma = 0.2 }",
            "decode = { median_tokens_per_s = 400.0, sigma = 0.1, "
            "min_tokens_per_chunk = 4, max_tokens_per_chunk = 8 }",
            "faults = {}",
        ]
    return "\n".join(lines) + "\n"


def config(url: str, interval_s: float, models: int = MODELS) -> str:
    """The prober catalog: the simulator's ``models`` with every probe in
    PROBES on its own ``interval_s`` schedule, and nothing else."""
    from prober.config import load_config

    lines = [
        "[providers.soak]",
        f'base_url = "{url}/v1"',
        "max_concurrency = 512",
        "[probes.context]",
        "enabled = false",
    ]
    for probe in PROBES:
        lines += [
            f"[probes.{probe}]",
            f"interval_s = {interval_s}",
            f"jitter_s = {_JITTER_S}",
            "max_tokens = 32",
        ]
    for model in load_config().models:  # the catalog's own ten: off
        lines += [f'[models."{model}"]', "enabled = false"]
    for number in range(models):
        lines += [
            f"[models.soak-{number:03d}]",
            f'display_name = "soak {number}"',
            'provider = "soak"',
            "price_per_mtok = 1.0",
        ]
    return "\n".join(lines) + "\n"


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _watch(
    lags: list[float], memory: list[tuple[float, float]], stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    began = next_memory = loop.time()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(_TICK_S)
        lags.append(loop.time() - before - _TICK_S)
        if before >= next_memory:
            memory.append((before - began, _rss_mib()))
            next_memory += _MEMORY_EVERY_S


def _sample_total(registry: Any, name: str) -> int:
    """The sum of every sample called ``name``, whatever its labels."""
    return int(
        sum(
            sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == name
        )
    )


def _rows(database: Path) -> int:
    from sqlalchemy import func, select

    from storage import ProbeResult, make_engine

    engine = make_engine(str(database))
    try:
        with engine.connect() as connection:
            query = select(func.count()).select_from(ProbeResult)
            return int(connection.execute(query).scalar() or 0)
    finally:
        engine.dispose()


async def soak(
    url: str, interval_s: float, duration_s: float, models: int = MODELS
) -> dict[str, Any]:
    """Run the service for ``duration_s`` in this process; its figures."""
    from prober.catalog import build_catalog
    from prober.config import load_config
    from prober.service import Service, ServiceOptions

    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        path = Path(scratch) / "soak.toml"
        path.write_text(config(url, interval_s, models))
        database = Path(scratch) / "prober.db"
        options = ServiceOptions(
            database=str(database), listen="127.0.0.1:0", drain_grace_s=_DRAIN_S
        )
        service = Service(build_catalog(load_config(path)), options)
        lags: list[float] = []
        memory: list[tuple[float, float]] = []
        stop = asyncio.Event()
        await service.start()
        jobs = len(service.plan)
        watcher = asyncio.create_task(_watch(lags, memory, stop))
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(duration_s)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        stop.set()
        await watcher
        rss_end = _rss_mib()
        await service.stop()
        registry = service.metrics.registry
        fired = _sample_total(registry, "prober_requests_total")
        errors = _sample_total(registry, "prober_errors_total")
        started = _sample_total(registry, "prober_scheduler_lag_seconds_count")
        skipped = _sample_total(registry, "prober_scheduler_skipped_runs_total")
        rows = _rows(database)
    p50, p99 = quantiles(lags)
    return {
        "models": models,
        "probes": len(PROBES),
        "jobs": jobs,
        "interval_s": interval_s,
        "duration_s": wall,
        "nominal": int(jobs * wall / interval_s),
        "due": started + skipped,
        "skipped_runs": skipped,
        "fired": fired,
        "rows": rows,
        "errors": errors,
        "probes_per_s": fired / wall,
        "cpu": cpu / wall,
        "lag_p50_ms": p50 * 1e3,
        "lag_p99_ms": p99 * 1e3,
        "lag_max_ms": max(lags, default=float("nan")) * 1e3,
        "rss_start_mib": memory[0][1] if memory else float("nan"),
        "rss_end_mib": rss_end,
        "rss_max_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_samples": memory,
    }


def run(full: bool = False) -> dict[str, Any]:
    interval_s = 15.0
    duration_s = 300.0 if full else 60.0
    with tempfile.TemporaryDirectory(prefix="soak-sim-") as scratch:
        profile_path = Path(scratch) / "profiles.toml"
        profile_path.write_text(profiles())
        server_args = ["--port", "0", "--profiles", str(profile_path), "--seed", "1"]
        with child_server("simulator", server_args, cpu=0) as server:
            load = load_average()
            command = [
                sys.executable,
                "-m",
                "benchmarks.bench_soak",
                "--worker",
                f"--url={server.url}",
                f"--interval={interval_s}",
                f"--duration={duration_s}",
            ]
            done = subprocess.run(
                command,
                check=True,
                cwd=ROOT,
                capture_output=True,
                text=True,
                preexec_fn=pin_to(1),
                timeout=duration_s + _DRAIN_S + 300,
            )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_before"] = load
    result["load_after"] = load_average()
    result["goal_met"] = result["rows"] == result["fired"] > 0
    _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    rows = [
        [
            f"{result['models']} x {result['probes']}",
            result["duration_s"],
            result["nominal"],
            result["due"],
            result["fired"],
            result["rows"],
            result["errors"],
            result["skipped_runs"],
            f"{result['cpu']:.0%}",
            result["lag_p50_ms"],
            result["lag_p99_ms"],
            result["lag_max_ms"],
            result["rss_start_mib"],
            result["rss_end_mib"],
            f"{result['load_before'][0]:.1f}-{result['load_after'][0]:.1f}",
        ]
    ]
    print_table(
        f"Soak: one prober process on one core, every probe every "
        f"{result['interval_s']:g} s",
        [
            "models x probes",
            "seconds",
            "nominal",
            "due",
            "fired",
            "rows",
            "errors",
            "skipped",
            "CPU",
            "lag p50 ms",
            "lag p99 ms",
            "lag max ms",
            "RSS start MiB",
            "RSS end MiB",
            "load1",
        ],
        rows,
    )
    print(
        "rows must equal fired (no row lost); nominal = jobs x window / "
        "interval, due = runs started + skipped; RSS MiB every 10 s: "
        + ", ".join(f"{mib:.0f}" for _, mib in result["rss_samples"])
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_soak")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--interval", type=float, default=15, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=60, help=argparse.SUPPRESS)
    parser.add_argument("--models", type=int, default=MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = asyncio.run(soak(args.url, args.interval, args.duration, args.models))
        print(json.dumps(result))
        return 0
    run(args.full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
