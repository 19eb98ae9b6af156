"""Each benchmark's pieces run, at a size CI can afford.

No figure is asserted, only that every piece produces what the tables are
built from: timings come from a shared, often busy machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import bench_rollups, bench_sim_locust, bench_soak, bench_storage
from benchmarks.bench_fidelity import compare
from benchmarks.bench_throughput import measure
from benchmarks.common import ROOT, child_server
from benchmarks.tools import TOOLS
from prober.catalog import CONTEXT

pytestmark = pytest.mark.timeout(120)

_SHORT = ["--tokens", "4", "--gap-ms", "5", "--ttft-ms", "5:10"]


@pytest.mark.parametrize("client", ["prober", "aiohttp", "openai"])
def test_fidelity_matches_every_request_to_its_truth(
    client: str, tmp_path: Path
) -> None:
    with child_server("benchmarks.truth_server", _SHORT) as server:
        outcome = TOOLS[client].run(server.url, 2, 6, 4, tmp_path)
        truth = json.loads(_get(server.url + "/truth"))

    result = compare(truth, outcome, first_wave=2)
    assert result["measured"] == 4
    assert result["failed"] == result["unmatched"] == 0
    assert result["ttft_abs_error_p99_ms"] >= 0
    # One monotonic clock for every process: the server's reading always
    # falls between the client's two.
    assert "at most 0.0 us" in outcome.notes


def test_throughput_worker_counts_every_chunk() -> None:
    with child_server("benchmarks.truth_server", ["--flood", "--tokens", "300"]) as s:
        result = measure("prober", s.url, streams=2, requests=1, tokens=300, cpu=1)
    assert result["chunks"] == 600
    assert result["chunks_per_cpu_s"] > 0


def test_soak_worker_stores_every_probe_it_fires(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(bench_soak.profiles(models=2))
    with child_server("simulator", ["--port", "0", "--profiles", str(profiles)]) as s:
        command = [sys.executable, "-m", "benchmarks.bench_soak", "--worker"]
        command += [f"--url={s.url}", "--models=2", "--interval=1", "--duration=3"]
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=90, check=True
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["jobs"] == 2 * len(bench_soak.PROBES)
    assert result["rows"] == result["fired"] > 0 and result["errors"] == 0
    assert result["lag_p99_ms"] >= 0 and result["rss_end_mib"] > 0


def test_rollup_passes_write_a_bucket_and_an_hour_per_group() -> None:
    result = bench_rollups.measure(minutes=3)
    assert result["rows"] == 3 * 60 * bench_rollups.RATE_PER_S
    groups = len(bench_rollups.GROUPS)
    assert result["steady"]["buckets"] == result["first"]["buckets"] == 2 * groups
    assert result["steady"]["lag_p99_ms"] >= 0
    assert result["steady"]["traced_peak_mib"] > 0


def test_scheduler_worker_runs_the_service() -> None:
    with child_server("benchmarks.truth_server", _SHORT) as server:
        command = [sys.executable, "-m", "benchmarks.bench_scheduler", "--worker"]
        command += [f"--url={server.url}", "--jobs=5", "--interval=1", "--duration=3"]
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=90, check=True
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["probes"] >= 5
    assert result["errors"] == 0
    assert result["lag_p99_ms"] >= 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_storage_writer_and_report(kind: str) -> None:
    with bench_storage.database(kind) as url:
        if url is None:
            pytest.skip(
                f"PostgreSQL not reachable at {bench_storage.POSTGRES_ADMIN_URL}"
            )
        written = bench_storage.writer_rate(url, 300)
        assert written["flushed"] and written["rows_per_s"] > 0
    with bench_storage.database(kind) as url:
        assert url is not None
        bench_storage.bulk_load(url, 2000, bench_storage.BEFORE_REVISION)
        before = bench_storage.report_time(url, repeats=1)
        assert bench_storage.migrate_to_head(url) > 0
        after = bench_storage.report_time(url, repeats=1)

    assert after["sections"] == ["ranking", "quality_by_task", "spend_by_day"]
    # The report index changes how the rows are read, never a figure (sums
    # may add in another order: equal to the last bit or so).
    for old, new in zip(before["ranking"], after["ranking"], strict=True):
        numbers = {k: v for k, v in old.items() if isinstance(v, float)}
        assert {k: v for k, v in new.items() if k not in numbers} == {
            k: v for k, v in old.items() if k not in numbers
        }
        assert {k: new[k] for k in numbers} == pytest.approx(numbers, rel=1e-12)
    rows = list(bench_storage.synthetic_rows(2000))
    assert after["probes_counted"] == sum(r["probe"] != CONTEXT for r in rows)
    _assert_ttft_percentiles_exact(after["ranking"], rows)


def _assert_ttft_percentiles_exact(
    ranking: list[dict[str, Any]], rows: list[dict[str, Any]]
) -> None:
    for entry in ranking:
        ttft = [
            r["ttft_s"]
            for r in rows
            if r["model"] == entry["model"] and r["ok"] and r["probe"] != CONTEXT
        ]
        # Every bit of every value reaches the percentile, on both databases.
        assert entry["ttft_p50_s"] == np.percentile(ttft, 50)
        assert entry["ttft_p95_s"] == np.percentile(ttft, 95)


def test_simulator_table_is_parsed() -> None:
    line = "     250      0      6994       37%                      3 / 8 / 20" + (
        "                     12 / 30 / 41"
    )
    assert bench_sim_locust._ROW.match(line)


def test_locust_generates_requests_against_the_simulator() -> None:
    result = bench_sim_locust.locust_rate(users=2, seconds=2)
    assert result["requests"] > 0
    assert result["failures"] == 0


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()
