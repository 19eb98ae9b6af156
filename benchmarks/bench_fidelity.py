"""Fidelity: how far each tool's TTFT and ITL are from the truth.

The truth server (:mod:`benchmarks.truth_server`, its own process) records
when each request's first byte arrived and when it handed each token chunk
to the socket, on ``perf_counter_ns``: CLOCK_MONOTONIC, one clock for every
process on the machine (each client checks this against the server's
``/clock`` before it starts). So for every request:

    true TTFT = first token chunk written - request arrived
    true ITL  = (last token chunk written - first) / (tokens - 1)

and a tool's error is what it reported minus that. The streams follow an
OpenAI-style shape: a role-only chunk at once, a TTFT drawn per request from
50-150 ms, then one-token chunks every 20 ms (50 tokens/s, a typical hosted
model), then the finish, usage and ``[DONE]``.

Each tool keeps N streams open at once (closed loop) for 1, 50 and 200
streams. The first wave of requests (one per stream: connection set-up,
lazy imports) is left out for every tool alike.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import child_server, load_average, print_table, quantiles
from benchmarks.tools import TOOLS, Run

LEVELS = (1, 50, 200)
_SETTLE_S = 2.0
FLOOR = "aiohttp"
TOKENS = 32
GOAL_TTFT_P99_S = 0.001
GOAL_LEVEL = 50


@dataclass(frozen=True, slots=True)
class Sizes:
    requests: dict[int, int]


QUICK = Sizes({1: 8, 50: 100, 200: 400})
FULL = Sizes({1: 100, 50: 1000, 200: 2000})


def run(full: bool = False, tools: list[str] | None = None) -> dict[str, Any]:
    sizes = FULL if full else QUICK
    names = tools or list(TOOLS)
    results: list[dict[str, Any]] = []
    server_args = ["--tokens", str(TOKENS), "--gap-ms", "20", "--ttft-ms", "50:150"]
    with (
        child_server("benchmarks.truth_server", server_args) as server,
        tempfile.TemporaryDirectory(prefix="fidelity-") as scratch,
    ):
        for number, level in enumerate(LEVELS):
            # Rotated per level, so no tool always runs right after another
            # (a peer tool's workers winding down, the load it leaves).
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                results.append(
                    _one(name, server.url, level, sizes.requests[level], Path(scratch))
                )
                time.sleep(_SETTLE_S)
    _print(results)
    return {
        "shape": {
            "tokens": TOKENS,
            "gap_ms": 20,
            "ttft_ms": [50, 150],
            "role_chunk_first": True,
        },
        "levels": list(LEVELS),
        "results": results,
        "goals": _goals(results),
    }


def _one(name: str, url: str, level: int, requests: int, scratch: Path) -> dict:
    tool = TOOLS[name]
    entry: dict[str, Any] = {"tool": name, "streams": level, "version": tool.version()}
    status = tool.status()
    if status is not None:
        entry["skipped"] = status
        return entry
    _http(url + "/truth", "DELETE")
    entry["load_before"] = load_average()
    try:
        outcome = tool.run(url, level, requests, TOKENS, scratch)
    except Exception as exc:  # the table says which tool failed and why
        entry["skipped"] = f"run failed: {exc}"[:300]
        return entry
    entry["load_after"] = load_average()
    entry["server_lag_ms"] = json.loads(_http(url + "/lag"))
    truth = json.loads(_http(url + "/truth"))
    entry.update(compare(truth, outcome, first_wave=level))
    return entry


def compare(truth: list[dict], outcome: Run, first_wave: int) -> dict[str, Any]:
    """Each measured request against the server's record of it."""
    truth = sorted(truth, key=lambda record: record["seq"])
    warmup = {record["seq"] for record in truth[:first_wave]}
    by_key = {str(record[outcome.key_kind]): record for record in truth}
    ttft_errors, itl_errors = [], []
    failed = unmatched = 0
    for m in outcome.measured:
        record = by_key.get(m.key)
        if record is None:
            unmatched += 1
            continue
        if record["seq"] in warmup:
            continue
        if not m.ok or m.ttft_s is None:
            failed += 1
            continue
        tokens = record["token_ns"]
        ttft_errors.append(m.ttft_s - (tokens[0] - record["arrival_ns"]) / 1e9)
        if m.itl_s is not None and len(tokens) > 1:
            true_itl = (tokens[-1] - tokens[0]) / 1e9 / (len(tokens) - 1)
            itl_errors.append(m.itl_s - true_itl)
    ttft_p50, ttft_p99 = quantiles([abs(e) for e in ttft_errors])
    itl_p50, itl_p99 = quantiles([abs(e) for e in itl_errors])
    return {
        "measured": len(ttft_errors),
        "failed": failed,
        "unmatched": unmatched,
        "ttft_abs_error_p50_ms": ttft_p50 * 1e3,
        "ttft_abs_error_p99_ms": ttft_p99 * 1e3,
        "ttft_error_median_ms": quantiles(ttft_errors, [50])[0] * 1e3,
        "itl_abs_error_p50_us": itl_p50 * 1e6,
        "itl_abs_error_p99_us": itl_p99 * 1e6,
        "notes": outcome.notes,
        "client_cpu": outcome.client_cpu,
    }


def _goals(results: list[dict[str, Any]]) -> dict[str, Any]:
    measured = [r for r in results if "skipped" not in r and r["measured"]]
    goals: dict[str, Any] = {}
    prober_50 = [r for r in measured if r["tool"] == "prober" and r["streams"] == 50]
    if prober_50:
        p99 = prober_50[0]["ttft_abs_error_p99_ms"]
        goals["ttft_p99_at_50_ms"] = p99
        goals["ttft_p99_at_50_met"] = p99 <= GOAL_TTFT_P99_S * 1e3
    smallest = {}
    for level in LEVELS:
        # The bare aiohttp loop is the floor for reference, not a tool.
        here = [r for r in measured if r["streams"] == level and r["tool"] != FLOOR]
        if here:
            best = min(here, key=lambda r: r["ttft_abs_error_p99_ms"])
            smallest[str(level)] = best["tool"]
    goals["smallest_ttft_p99_error_by_level"] = smallest
    goals["prober_smallest_everywhere"] = all(t == "prober" for t in smallest.values())
    return goals


def _print(results: list[dict[str, Any]]) -> None:
    reference = {
        r["streams"]: r["ttft_abs_error_p99_ms"]
        for r in results
        if r["tool"] == "prober" and "skipped" not in r and r["measured"]
    }
    rows = []
    skipped: dict[str, str] = {}
    order = {r["tool"]: n for n, r in enumerate(results) if r["streams"] == LEVELS[0]}
    for r in sorted(results, key=lambda r: (r["streams"], order.get(r["tool"], 0))):
        if "skipped" in r:
            skipped.setdefault(r["tool"], r["skipped"])
            rows.append([r["tool"], r["streams"], "skipped"] + ["-"] * 9)
            continue
        ratio = None
        if reference.get(r["streams"]):
            ratio = f"{r['ttft_abs_error_p99_ms'] / reference[r['streams']]:.1f}x"
        rows.append(
            [
                r["tool"],
                r["streams"],
                f"{r['measured']}/{r['failed']}",
                r["ttft_abs_error_p50_ms"],
                r["ttft_abs_error_p99_ms"],
                r["ttft_error_median_ms"],
                r["itl_abs_error_p50_us"],
                r["itl_abs_error_p99_us"],
                ratio,
                r["server_lag_ms"]["p99_ms"],
                "-" if r["client_cpu"] is None else f"{r['client_cpu']:.0%}",
                f"{r['load_before'][0]:.1f}",
            ]
        )
    print_table(
        "Fidelity: absolute error against the truth server",
        [
            "tool",
            "streams",
            "ok/failed",
            "TTFT p50 ms",
            "TTFT p99 ms",
            "TTFT bias ms",
            "ITL p50 us",
            "ITL p99 us",
            "p99 vs prober",
            "server lag p99 ms",
            "client CPU",
            "load1",
        ],
        rows,
    )
    print("TTFT bias: median signed error. Errors include two loopback deliveries")
    print("(request, first token), each with a process wake-up: the aiohttp row")
    print("is the floor any Python client on this machine shares.")
    for tool, reason in skipped.items():
        print(f"{tool} skipped: {reason}")


def _http(url: str, method: str = "GET") -> str:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()
