"""`prober run` as a real process against a simulator process: SIGTERM
drains probes in flight within the grace period and stores every row;
SIGKILL loses only probes in flight, and rows spilled during a database
outage reach the database at the next start; a second prober on the same
SQLite file refuses to start."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from prober.dblock import DatabaseLock, sqlite_path
from prober.exceptions import SetupError
from tests.reliability.processes import (
    ProberProcess,
    SimulatorProcess,
    metric,
    until,
)
from tests.reliability.setup import (
    MODELS,
    fast_profiles,
    ping_only_config,
    stored_rows,
)

TIMEOUTS = "{ connect_s = 5, first_token_s = 90, stall_s = 30, total_s = 120 }"
SLOW = MODELS[:5]


@pytest.fixture(scope="module")
def simulator_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SimulatorProcess]:
    folder = tmp_path_factory.mktemp("simulator")
    profiles = fast_profiles(folder / "profiles.toml")
    serving = SimulatorProcess(profiles, folder / "simulator.log")
    try:
        yield serving
    finally:
        serving.stop()


@pytest.fixture
def sim(simulator_process: SimulatorProcess) -> Iterator[SimulatorProcess]:
    simulator_process.clear_faults()
    yield simulator_process
    simulator_process.clear_faults()


@pytest.fixture
def config(sim: SimulatorProcess, tmp_path: Path) -> Path:
    return ping_only_config(
        tmp_path / "prober.toml", f"{sim.url}/v1", interval_s=0.5, timeouts=TIMEOUTS
    )


def _slow_headers(
    sim: SimulatorProcess, models: tuple[str, ...], delay_s: float
) -> None:
    for model in models:
        sim.set_fault(
            "slow_headers", {"probability": 1.0, "delay_s": delay_s}, model=model
        )


def _stop_line(log: str) -> tuple[int, int]:
    found = re.search(r"stopped after (\d+) probe runs, (\d+) of them cut", log)
    assert found, log
    return int(found.group(1)), int(found.group(2))


def _runs_started(prober: ProberProcess) -> float:
    return metric(prober.metrics(), "prober_scheduler_lag_seconds_count")


def _assert_clean(log: str) -> None:
    assert "Traceback" not in log and "never retrieved" not in log, log


@pytest.mark.timeout(60)
def test_sigterm_drains_probes_in_flight_and_stores_every_row(
    sim: SimulatorProcess, config: Path, tmp_path: Path
) -> None:
    _slow_headers(sim, MODELS, 1.5)
    database = tmp_path / "prober.db"
    prober = ProberProcess(config, database, tmp_path / "prober.log", grace_s=20)
    try:
        prober.wait_serving()
        until(lambda: _runs_started(prober) >= 20, 20, "twenty runs started")
        prober.signal(signal.SIGTERM)
        began = time.monotonic()
        assert prober.wait(30) == 0
    finally:
        prober.kill()
    log = prober.text()
    in_flight = re.search(r"waiting up to 20 s for (\d+) probes in flight", log)
    assert in_flight and int(in_flight.group(1)) > 0, log
    assert time.monotonic() - began < 20
    runs, cut = _stop_line(log)
    assert cut == 0
    assert len(stored_rows(database)) == runs
    _assert_clean(log)


@pytest.mark.timeout(60)
def test_sigterm_cuts_what_outlasts_the_grace_period(
    sim: SimulatorProcess, config: Path, tmp_path: Path
) -> None:
    _slow_headers(sim, SLOW, 60.0)
    database = tmp_path / "prober.db"
    prober = ProberProcess(config, database, tmp_path / "prober.log", grace_s=1)
    try:
        prober.wait_serving()
        until(lambda: _runs_started(prober) >= 20, 20, "twenty runs started")
        prober.signal(signal.SIGTERM)
        began = time.monotonic()
        assert prober.wait(30) == 0
        stopped_in_s = time.monotonic() - began
    finally:
        prober.kill()
    log = prober.text()
    runs, cut = _stop_line(log)
    assert cut >= len(SLOW)
    assert f"cut {cut} probes still running after the grace period" in log
    rows = stored_rows(database)
    assert len(rows) == runs - cut
    assert {model for _, model, _ in rows} >= set(MODELS) - set(SLOW)
    assert stopped_in_s < 1 + 5
    _assert_clean(log)


def _spilled_uids(spill: Path) -> set[str]:
    if not spill.exists():
        return set()
    lines = spill.read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["uid"] for line in lines if line.strip()}


def _quiet(prober: ProberProcess) -> float | None:
    """Requests finished, once no probe is finishing any more and the writer
    holds nothing in memory."""
    first = prober.metrics()
    time.sleep(0.5)
    second = prober.metrics()
    done = metric(second, "prober_requests_total")
    if done != metric(first, "prober_requests_total"):
        return None
    if metric(second, "prober_writer_queue_rows") > 0:
        return None
    return done


@pytest.mark.timeout(90)
def test_sigkill_loses_only_probes_in_flight_and_spilled_rows_are_replayed(
    sim: SimulatorProcess, config: Path, tmp_path: Path
) -> None:
    database = tmp_path / "prober.db"
    spill = tmp_path / "prober.db.spill"
    prober = ProberProcess(config, database, tmp_path / "first.log")
    try:
        prober.wait_serving()
        # The database goes away for writes: another connection holds its
        # write lock, so rows wait, then go to the spill file.
        with closing(sqlite3.connect(database, isolation_level=None)) as holder:
            holder.execute("BEGIN EXCLUSIVE")
            until(lambda: len(_spilled_uids(spill)) >= 5, 40, "spilled rows")
            # Every probe now hangs: what finished is all on disk or in the
            # database once the writer has emptied its memory.
            _slow_headers(sim, MODELS, 120.0)
            finished = until(lambda: _quiet(prober), 40, "the writer to settle")
            prober.process.kill()
            assert prober.wait(10) == -signal.SIGKILL
            holder.execute("ROLLBACK")
    finally:
        prober.kill()
    # At the kill, each finished probe is either in the database or in the
    # spill file, never in both.
    in_database = {uid for uid, _, _ in stored_rows(database)}
    spilled = _spilled_uids(spill)
    assert not in_database & spilled
    assert len(in_database) + len(spilled) == finished
    sim.clear_faults()

    restarted = ProberProcess(config, database, tmp_path / "second.log")
    try:
        restarted.wait_serving()
        until(lambda: not spill.exists(), 20, "the spill file to be replayed")
        restarted.signal(signal.SIGTERM)
        assert restarted.wait(30) == 0
    finally:
        restarted.kill()
    stored = {uid for uid, _, _ in stored_rows(database)}
    assert in_database | spilled <= stored
    _assert_clean(prober.text() + restarted.text())


@pytest.mark.timeout(60)
def test_sigterm_during_a_database_outage_spills_what_it_cannot_write(
    config: Path, tmp_path: Path
) -> None:
    database = tmp_path / "prober.db"
    spill = tmp_path / "prober.db.spill"
    prober = ProberProcess(config, database, tmp_path / "prober.log")
    try:
        prober.wait_serving()
        with closing(sqlite3.connect(database, isolation_level=None)) as holder:
            holder.execute("BEGIN EXCLUSIVE")
            written = len(stored_rows(database))
            until(lambda: _runs_started(prober) >= written + 10, 20, "more runs")
            prober.signal(signal.SIGTERM)
            assert prober.wait(30) == 0
            holder.execute("ROLLBACK")
    finally:
        prober.kill()
    runs, cut = _stop_line(prober.text())
    in_database = {uid for uid, _, _ in stored_rows(database)}
    spilled = _spilled_uids(spill)
    assert spilled and not in_database & spilled
    assert len(in_database) + len(spilled) == runs - cut
    _assert_clean(prober.text())


@pytest.mark.timeout(60)
def test_a_second_prober_on_the_same_sqlite_file_refuses_to_start(
    config: Path, tmp_path: Path
) -> None:
    database = tmp_path / "prober.db"
    first = ProberProcess(config, database, tmp_path / "first.log")
    try:
        first.wait_serving()
        second = subprocess.run(
            [sys.executable, "-m", "prober", "run", "--config", str(config)]
            + ["--database", str(database), "--listen", "127.0.0.1:0"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 2
        errors = second.stderr.strip().splitlines()
        assert len(errors) == 1, second.stderr
        assert str(database) in errors[0] and f"pid {first.pid}" in errors[0]
        for command in (["report"], ["db", "current"]):
            read = subprocess.run(
                [sys.executable, "-m", "prober", *command]
                + ["--config", str(config), "--database", str(database)],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert read.returncode == 0, read.stderr
        first.signal(signal.SIGTERM)
        assert first.wait(30) == 0
    finally:
        first.kill()
    lock = DatabaseLock(database)
    lock.acquire()
    lock.release()
    assert len(stored_rows(database)) > 0


def test_only_sqlite_files_are_locked() -> None:
    assert sqlite_path("/var/lib/prober/prober.db") == Path("/var/lib/prober/prober.db")
    assert sqlite_path("sqlite:///data/prober.db") == Path("data/prober.db")
    assert sqlite_path("postgresql://prober@db/prober") is None
    assert sqlite_path("sqlite://") is None


def test_a_lock_that_cannot_be_made_is_a_setup_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(SetupError, match="cannot create the lock file"):
        DatabaseLock(blocker / "prober.db").acquire()
