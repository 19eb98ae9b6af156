"""Simulator and Locust: streams and chunks/s per core the simulator serves,
and requests/s per core Locust generates against it.

* Simulator: runs the simulator engineer's own benchmark,
  ``benchmarks/bench_simulator.py`` (simulator pinned to one CPU, a raw-HTTP
  client on the other), and reads its table back.
* Locust: the simulator on one CPU with a model that answers at once (first
  token after 1 ms, 8 tokens at 100,000 tokens/s), Locust headless on the
  other CPU running prober's own capacity test, ``loadtests/locustfile.py``
  (its ``StreamingChatUser``: the ``ping`` prompt, ``max_tokens`` 8, read
  and timed as a probe), steady shape, no think time, nothing stored.
  Requests/s per core is the rate divided by the CPU share Locust used, so
  it stays meaningful when the simulator, not Locust, is the limit; the
  table shows both CPU shares.

    python -m benchmarks.bench_sim_locust [--full]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_simulator import MODEL, start_simulator
from benchmarks.common import ROOT, load_average, pin_to, print_table, process_cpu_s

_ROW = re.compile(
    r"^\s*(?P<streams>\d+)\s+(?P<failed>\d+)\s+(?P<chunks>\d+)\s+(?P<cpu>\d+)%\s+"
    r"(?P<ttft>[\d/ -]+?)\s{2,}(?P<e2e>[\d/ -]+)$"
)
_FAST_PROFILE = """
[models.bench]
capacity = 1000000
queue = 0
prefill_tokens_per_s = 1e12
ttft = { median_s = 0.001, sigma = 0.0 }
decode = { median_tokens_per_s = 100000.0, sigma = 0.0, chunk_jitter = 0.0 }
"""
# The benchmark model, added to prober's catalog for the load test.
_CATALOG = """
[models.bench]
display_name = "Benchmark"
price_per_mtok = 0.0
context_window = 131072
"""


def simulator_capacity(full: bool) -> dict[str, Any]:
    """Run bench_simulator.py and parse its rows."""
    command = [sys.executable, "benchmarks/bench_simulator.py"]
    command += ["--levels", "250,500,1000,1500"] if full else ["--quick"]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=900
    )
    rows = []
    for line in done.stdout.splitlines():
        found = _ROW.match(line)
        if not found:
            continue
        ttft = [float(x) for x in found["ttft"].split("/")]
        e2e = [float(x) for x in found["e2e"].split("/")]
        rows.append(
            {
                "streams": int(found["streams"]),
                "failed": int(found["failed"]),
                "chunks_per_s": float(found["chunks"]),
                "server_cpu": float(found["cpu"]) / 100,
                "added_ttft_ms_p50_p95_max": ttft,
                "added_e2e_ms_p50_p95_max": e2e,
            }
        )
    if not rows:
        raise RuntimeError("bench_simulator.py printed no rows:\n" + done.stdout)
    return {"command": " ".join(command[1:]), "rows": rows, "stdout": done.stdout}


def locust_rate(users: int, seconds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="locust-") as scratch:
        profile = Path(scratch) / "fast.toml"
        profile.write_text(_FAST_PROFILE)
        (Path(scratch) / "prober.toml").write_text(_CATALOG)
        simulator, port = start_simulator(str(profile))
        try:
            return _run_locust(port, simulator.pid, users, seconds, Path(scratch))
        finally:
            simulator.terminate()
            simulator.wait(timeout=10)
            if simulator.stdout is not None:
                simulator.stdout.close()


def _run_locust(
    port: int, server_pid: int, users: int, seconds: int, scratch: Path
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "loadtests" / "locustfile.py"),
        "--headless",
        f"--host=http://127.0.0.1:{port}",
        "--shape=steady",
        f"--base-users={users}",
        f"--duration-s={seconds}",
        "--think-s=0",
        f"--prober-config={scratch / 'prober.toml'}",
        f"--models={MODEL}",
        "--probes=ping",
        "--max-tokens=8",
        "--no-store",
        "--metrics-listen=off",
        f"--csv={scratch / 'locust'}",
        "--only-summary",
        "--loglevel=WARNING",
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    load = load_average()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=pin_to(1),
    )
    # The shape ends the run; this only bounds a run that hangs.
    deadline = time.monotonic() + seconds + 60
    server_cpu, wall = process_cpu_s(server_pid), time.perf_counter()
    cpu = 0.0
    while process.poll() is None:  # CPU must be read before the process exits
        cpu = process_cpu_s(process.pid)
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"locust still running {seconds + 60} s after start")
        time.sleep(0.2)
    wall = time.perf_counter() - wall
    server_cpu = process_cpu_s(server_pid) - server_cpu
    _, stderr = process.communicate()
    if process.returncode not in (0, 1):  # 1: some requests failed
        raise RuntimeError(f"locust failed: {stderr[-500:]}")
    stats = _aggregated(scratch / "locust_stats.csv")
    rate = stats["requests"] / seconds
    share = cpu / wall
    return {
        "users": users,
        "seconds": seconds,
        "requests": stats["requests"],
        "failures": stats["failures"],
        "requests_per_s": rate,
        "locust_cpu": share,
        "simulator_cpu": server_cpu / wall,
        "requests_per_s_per_core": rate / share if share else None,
        "median_ms": stats["median_ms"],
        "load_before": load,
    }


def _aggregated(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                return {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "median_ms": float(row["Median Response Time"] or 0),
                }
    raise RuntimeError(f"no aggregated row in {path}")


def run(full: bool = False) -> dict[str, Any]:
    simulator = simulator_capacity(full)
    locust = locust_rate(users=64 if full else 32, seconds=30 if full else 10)
    result = {"simulator": simulator, "locust": locust}
    _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    rows = []
    for r in result["simulator"]["rows"]:
        per_core = r["chunks_per_s"] / r["server_cpu"] if r["server_cpu"] else None
        rows.append(
            [
                r["streams"],
                r["failed"],
                r["chunks_per_s"],
                f"{r['server_cpu']:.0%}",
                per_core,
                "/".join(f"{x:.0f}" for x in r["added_ttft_ms_p50_p95_max"]),
            ]
        )
    print_table(
        f"Simulator on one core ({result['simulator']['command']})",
        [
            "streams",
            "failed",
            "chunks/s",
            "CPU",
            "chunks/s per core",
            "added TTFT ms p50/p95/max",
        ],
        rows,
    )
    lo = result["locust"]
    print_table(
        "Locust (loadtests/locustfile.py, headless, one process) against the simulator",
        [
            "users",
            "requests",
            "failures",
            "requests/s",
            "Locust CPU",
            "simulator CPU",
            "requests/s per core",
            "load1",
        ],
        [
            [
                lo["users"],
                lo["requests"],
                lo["failures"],
                lo["requests_per_s"],
                f"{lo['locust_cpu']:.0%}",
                f"{lo['simulator_cpu']:.0%}",
                lo["requests_per_s_per_core"],
                f"{lo['load_before'][0]:.1f}",
            ]
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sim_locust")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    run(args.full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
