"""Headless Locust runs of every shape against the simulator, distributed
runs, and the paid-host guard. Each run is short and bounded; the simulator
gives every model a capacity of two streams, so a few users saturate it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from storage import make_engine
from storage.loadruns import ALL_MODELS, LoadRun, LoadStage
from tests.load.locust_runs import (
    free_port,
    locust_command,
    metrics_url,
    scrape,
    simulator,
    start,
)

pytestmark = pytest.mark.timeout(180)

MODEL = "deepseek-v4-flash"  # tight, fast and without injected faults
TRAFFIC = ["--models", MODEL, "--probes", "flatten", "--max-tokens", "40"]


@pytest.fixture
def sim_url() -> Iterator[str]:
    with simulator() as url:
        yield url


def _stored(database: str) -> tuple[list[LoadRun], list[LoadStage]]:
    engine = make_engine(database)
    with Session(engine) as session:
        runs = list(session.exec(select(LoadRun)))
        stages = list(session.exec(select(LoadStage).order_by(LoadStage.stage_index)))
    engine.dispose()
    return runs, stages


def _all_models(stages: list[LoadStage], name: str) -> LoadStage:
    [stage] = [s for s in stages if s.stage == name and s.model == ALL_MODELS]
    return stage


def test_ci_smoke_peak_hour(sim_url: str, tmp_path: Path) -> None:
    """The CI smoke test: 24 s of peak-hour load, then the CSV, the rows,
    the live metrics and the exit code; the peak is visibly slower."""
    database = f"sqlite:///{tmp_path / 'prober.db'}"
    args = locust_command(
        "--headless", "--host", sim_url, "--shape", "peak-hour",
        "--duration-s", "24", "--base-users", "2", "--peak-multiple", "5",
        "--think-s", "0.5", "--database", database, "--csv", "run", *TRAFFIC,
    )  # fmt: skip
    log = tmp_path / "locust.log"
    process = start(args, log)
    try:
        url = metrics_url(log)
        live = scrape(url)
        assert process.wait(timeout=90) == 0, log.read_text()[-3000:]
    finally:
        process.kill()

    assert 'source="loadtest"' in live and "prober_ttft_seconds_bucket" in live
    with (tmp_path / "run_stats.csv").open() as handle:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(handle)}
    for kind in ("REQUEST", "TTFT", "TTFA", "E2E", "TOK/S"):
        assert int(rows[(kind, MODEL)]["Request Count"]) > 10, kind
    assert (
        rows[("", "Aggregated")]["Request Count"]
        == rows[("REQUEST", MODEL)]["Request Count"]
    )

    [run], stages = _stored(database)
    assert run.shape == "peak-hour" and run.ended_at is not None
    assert [s.stage for s in stages if s.model == ALL_MODELS] == [
        "quiet", "ramp-up", "peak", "decline", "recovery",
    ]  # fmt: skip
    quiet, peak = _all_models(stages, "quiet"), _all_models(stages, "peak")
    assert quiet.requests >= 4 and peak.requests > quiet.requests
    assert quiet.ttft_p50_s is not None and peak.ttft_p50_s is not None
    # Ten users on a capacity of two: each stream runs about three times
    # slower and the rest queue.
    assert peak.ttft_p50_s > 1.5 * quiet.ttft_p50_s

    report = subprocess.run(
        [sys.executable, "-m", "prober", "report", "--load", "--database", database],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert run.id[:12] in report.stdout and "peak-hour" in report.stdout


@pytest.mark.parametrize(
    ("shape", "checks", "status"),
    [
        ("steady", ["--check-error-rate", "0.5", "--check-ttft-p95-s", "30"], 0),
        ("spike", ["--check-ttft-p95-s", "0.001"], 1),
    ],
)
def test_shape_runs_to_its_end_and_gates_decide_the_status(
    shape: str, checks: list[str], status: int, sim_url: str, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'prober.db'}"
    args = locust_command(
        "--headless", "--host", sim_url, "--shape", shape, "--duration-s", "8",
        "--base-users", "1", "--peak-multiple", "4", "--think-s", "0.2",
        "--database", database, *TRAFFIC, *checks,
    )  # fmt: skip
    run = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert run.returncode == status, run.stderr[-3000:]
    assert ("check failed: TTFT p95" in run.stderr) == (status == 1)

    [stored], stages = _stored(database)
    expected = {"steady": ["steady"], "spike": ["quiet", "spike", "recovery"]}
    assert [s.stage for s in stages if s.model == ALL_MODELS] == expected[shape]
    assert all(s.requests > 0 for s in stages)
    assert stored.knee_users is None


def test_step_shape_finds_the_knee_and_stops_early(
    sim_url: str, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'prober.db'}"
    args = locust_command(
        "--headless", "--host", sim_url, "--shape", "step", "--duration-s", "40",
        "--steps", "5", "--base-users", "2", "--think-s", "0.2",
        "--database", database, *TRAFFIC,
    )  # fmt: skip
    run = subprocess.run(args, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr[-3000:]

    [stored], stages = _stored(database)
    assert stored.saturated is True
    # Two users fit a capacity of two; more slow every stream down past the
    # 500 ms p95 SLO (on a very busy machine even two may miss it).
    assert stored.knee_users in (None, 2, 4)
    assert "knee:" in run.stderr
    steps_run = [s.stage for s in stages if s.model == ALL_MODELS]
    assert len(steps_run) < 5, "the run went on after the SLO was missed"
    assert stored.ended_at is not None


def test_master_and_worker_on_localhost(
    sim_url: str, tmp_path: Path, database_url: str
) -> None:
    """One master, one worker: the worker's samples reach the master's
    metrics and database (SQLite and PostgreSQL)."""
    port = free_port()
    master = start(
        locust_command(
            "--master", "--headless", "--expect-workers", "1",
            "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--host", sim_url, "--shape", "steady", "--duration-s", "10",
            "--base-users", "2", "--think-s", "0.2", "--database", database_url,
            *TRAFFIC,
        ),
        tmp_path / "master.log",
    )  # fmt: skip
    worker_log = tmp_path / "worker.log"
    worker = start(
        locust_command("--worker", "--master-host", "127.0.0.1", "--master-port",
                       str(port)),
        worker_log,
    )  # fmt: skip
    try:
        url = metrics_url(tmp_path / "master.log")
        assert master.wait(timeout=90) == 0, (tmp_path / "master.log").read_text()
        assert worker.wait(timeout=30) == 0, worker_log.read_text()[-3000:]
    finally:
        master.kill()
        worker.kill()
    assert "serving load-test metrics" not in worker_log.read_text()  # master only
    assert url.startswith("http://127.0.0.1:")

    [stored], stages = _stored(database_url)
    [steady] = [s for s in stages if s.model == ALL_MODELS]
    assert steady.requests > 5 and steady.ttft_p50_s is not None
    assert stored.ended_at is not None


def test_a_paid_host_without_its_key_sends_nothing(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": ""}
    args = locust_command(
        "--headless", "--host", "https://llm.example.invalid/v1", "--no-store",
    )  # fmt: skip
    run = subprocess.run(
        args, capture_output=True, text=True, timeout=60, env=_env(env), cwd=tmp_path
    )
    assert run.returncode == 2
    assert "OPENAI_API_KEY" in run.stderr and "which is not set" in run.stderr


def test_paid_requests_are_capped(sim_url: str, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'prober.db'}"
    args = locust_command(
        "--headless", "--host", sim_url, "--paid", "--paid-requests", "4",
        "--shape", "steady", "--duration-s", "30", "--base-users", "2",
        "--think-s", "0", "--database", database, *TRAFFIC,
    )  # fmt: skip
    run = subprocess.run(
        args, capture_output=True, text=True, timeout=60,
        env=_env({"OPENAI_API_KEY": "sk-test"}),
    )  # fmt: skip
    assert run.returncode == 1, run.stderr[-3000:]
    assert "--paid-requests limit" in run.stderr
    [stored], stages = _stored(database)
    assert stored.ended_at is not None
    assert sum(s.requests for s in stages if s.model == ALL_MODELS) <= 4


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}
