"""Client throughput: streamed chunks per second one core can time and decode.

The truth server in ``--flood`` mode (its own process, pinned to the first
CPU) answers every request with the same pre-encoded stream of OpenAI-style
chunks, written as fast as the socket takes them. Each client runs in a
fresh process pinned to the second CPU, keeps a few streams open, and
counts the token chunks it timed and decoded. The figure is chunks per CPU
second of the client process (wall-clock rate beside it): on a shared
machine CPU time is the steadier measure of what one core can do.

* ``prober``: :class:`prober.client.StreamingClient` (stamp per read, SSE
  decoding, chunk semantics, watchdog, measurement);
* ``openai``: the official SDK's async stream, a careful user's timing loop;
* ``aiohttp``: aiohttp's line iterator, ``json.loads`` per ``data:`` line and
  a stamp per line: the floor this stack allows.

    python -m benchmarks.bench_throughput            # quick
    python -m benchmarks.bench_throughput --full
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.clients import CLIENTS, make_client
from benchmarks.common import ROOT, child_server, load_average, pin_to, print_table

ORDER = ("prober", "openai", "aiohttp")
GOAL_VS_SDK = 3.0
GOAL_VS_FLOOR = 1.5
_CALLGRIND_TOKENS = 500


async def _work(
    name: str, url: str, streams: int, requests: int, tokens: int
) -> dict[str, Any]:
    async with make_client(name, url + "/v1") as client:
        await client.stream("warm", tokens)  # connection, lazy imports
        wall, cpu = time.perf_counter(), time.process_time()
        samples = await asyncio.gather(
            *(_stream_many(client, requests, tokens) for _ in range(streams))
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    chunks = sum(samples)
    return {
        "chunks": chunks,
        "wall_s": wall,
        "cpu_s": cpu,
        "chunks_per_cpu_s": chunks / cpu,
        "chunks_per_s": chunks / wall,
    }


async def _stream_many(client: Any, requests: int, tokens: int) -> int:
    total = 0
    for _ in range(requests):
        sample = await client.stream("x", tokens)
        if not sample.ok:
            raise RuntimeError(f"stream failed: {sample.error}")
        total += sample.chunks
    return total


def measure(
    name: str, url: str, streams: int, requests: int, tokens: int, cpu: int
) -> dict[str, Any]:
    """One run of one client, in a fresh process on CPU ``cpu``."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_throughput",
        "--worker",
        name,
        f"--url={url}",
        f"--streams={streams}",
        f"--requests={requests}",
        f"--tokens={tokens}",
    ]
    done = subprocess.run(
        command,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=pin_to(cpu),
        timeout=900,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def instructions_per_chunk(name: str, url: str, tokens: int) -> float | None:
    """Instructions one token chunk costs the client, from callgrind: the
    difference between a run of one request and a run of three, so start-up
    and imports cancel out. ``None`` when valgrind is not installed."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    for requests in (1, 3):
        command = [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "benchmarks.bench_throughput",
            "--worker",
            name,
            f"--url={url}",
            "--streams=1",
            f"--requests={requests}",
            f"--tokens={tokens}",
        ]
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=1800
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or not found:
            raise RuntimeError(f"callgrind run failed: {done.stderr[-300:]}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / (2 * tokens)


def run(full: bool = False, callgrind: bool | None = None) -> dict[str, Any]:
    tokens = 4000 if full else 1000
    streams, requests = 4, (5 if full else 3)
    repeats = 5 if full else 3
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in ORDER}
    loads = []
    server_args = ["--flood", "--tokens", str(tokens)]
    instructions: dict[str, float | None] = {}
    with child_server("benchmarks.truth_server", server_args, cpu=0) as server:
        for _ in range(repeats):
            for name in ORDER:  # interleaved, so drifting load hits all alike
                loads.append(load_average()[0])
                runs[name].append(
                    measure(name, server.url, streams, requests, tokens, cpu=1)
                )
    if full if callgrind is None else callgrind:
        # Shorter streams: under valgrind the SDK runs ~50 ms per chunk.
        small = ["--flood", "--tokens", str(_CALLGRIND_TOKENS)]
        with child_server("benchmarks.truth_server", small, cpu=0) as server:
            for name in ORDER:
                instructions[name] = instructions_per_chunk(
                    name, server.url, _CALLGRIND_TOKENS
                )
    summary = {
        name: {
            "chunks_per_cpu_s": statistics.median(
                r["chunks_per_cpu_s"] for r in results
            ),
            "chunks_per_s": statistics.median(r["chunks_per_s"] for r in results),
            "instructions_per_chunk": instructions.get(name),
            "runs": results,
        }
        for name, results in runs.items()
    }
    result = {
        "streams": streams,
        "chunks_per_stream": tokens,
        "repeats": repeats,
        "load1_range": [min(loads), max(loads)],
        "clients": summary,
        "goals": _goals(summary),
    }
    _print(result)
    return result


def _goals(summary: dict[str, Any]) -> dict[str, Any]:
    prober = summary["prober"]["chunks_per_cpu_s"]
    vs_sdk = prober / summary["openai"]["chunks_per_cpu_s"]
    floor_ratio = summary["aiohttp"]["chunks_per_cpu_s"] / prober
    return {
        "prober_vs_openai": vs_sdk,
        "aiohttp_vs_prober": floor_ratio,
        "vs_openai_met": vs_sdk >= GOAL_VS_SDK,
        "vs_floor_met": floor_ratio <= GOAL_VS_FLOOR,
    }


def _print(result: dict[str, Any]) -> None:
    clients = result["clients"]
    prober = clients["prober"]["chunks_per_cpu_s"]
    rows = [
        [
            name,
            clients[name]["chunks_per_cpu_s"],
            clients[name]["chunks_per_s"],
            f"{clients[name]['chunks_per_cpu_s'] / prober:.2f}x",
            f"{1e6 / clients[name]['chunks_per_cpu_s']:.1f}",
            clients[name]["instructions_per_chunk"],
        ]
        for name in ORDER
    ]
    print_table(
        "Client throughput: token chunks timed and decoded by one core",
        [
            "client",
            "chunks/CPU-s",
            "chunks/s wall",
            "vs prober",
            "us/chunk",
            "instr/chunk",
        ],
        rows,
    )
    goals = result["goals"]
    low, high = result["load1_range"]
    print(
        f"{result['repeats']} runs each, medians; {result['streams']} streams of "
        f"{result['chunks_per_stream']} chunks; load1 {low:.1f}-{high:.1f}"
    )
    print(
        f"prober / openai = {goals['prober_vs_openai']:.2f} (goal >= {GOAL_VS_SDK}); "
        f"aiohttp / prober = {goals['aiohttp_vs_prober']:.2f} "
        f"(goal <= {GOAL_VS_FLOOR})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_throughput")
    parser.add_argument("--full", action="store_true")
    parser.add_argument(
        "--callgrind",
        action=argparse.BooleanOptionalAction,
        help="count instructions per chunk with valgrind (default: in --full)",
    )
    parser.add_argument("--worker", choices=sorted(CLIENTS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--streams", type=int, default=4, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", type=int, default=2000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = asyncio.run(
            _work(args.worker, args.url, args.streams, args.requests, args.tokens)
        )
        print(json.dumps(result))
        return 0
    run(args.full, args.callgrind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
