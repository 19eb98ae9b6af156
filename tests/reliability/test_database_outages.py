"""The service through real database outages: a private PostgreSQL cluster
stopped for 30 s, and a SQLite file locked, made read-only and left without
disk space. Each time: readiness false during, the queue and spill visible,
one log line naming the database and the cause, and no row lost after."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from prober.service import Service, ServiceOptions
from storage import ResultWriter, create_schema, make_engine
from tests.conftest import POSTGRES_ADMIN_URL
from tests.reliability.harness import (
    PONG,
    get,
    ping_catalog,
    probes_fired,
    rows_stored,
    running,
    until_metrics,
    until_status,
)
from tests.replay import replay_server
from tests.storage.rows import result_row

PG_BIN = Path(os.environ.get("PROBER_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
OUTAGE_S = 30.0


@dataclass(frozen=True)
class Cluster:
    bin_dir: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin_dir / "pg_ctl"),
             "-D", str(self.data), "-w", "-t", "30", *args],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data.parent} "
            "-c fsync=off -c full_page_writes=off"
        )
        self.ctl("-l", str(self.data.parent / "server.log"), "-o", options, "start")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of the test's own, on a free port of 127.0.0.1."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no initdb in {PG_BIN} (set PROBER_TEST_PG_BIN)")
    root = Path(tempfile.mkdtemp(prefix="prober-pg-"))
    shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(PG_BIN, root / "data", _free_port())
    try:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"),
             "-D", str(cluster.data), "-U", "postgres", "-A", "trust", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        cluster.start()
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.ctl("-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.timeout(120)
async def test_postgresql_stopped_for_30_s_loses_no_row(
    cluster: Cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with replay_server(PONG) as provider:
        options = ServiceOptions(
            database=cluster.url,
            listen="127.0.0.1:0",
            drain_grace_s=5,
            spill_path=tmp_path / "spill.jsonl",
            max_pending_rows=20,
        )
        service = Service(ping_catalog(provider.base_url), options)
        async with running(service) as base:
            await until_status(f"{base}/readyz", 200)
            await asyncio.to_thread(cluster.ctl, "-m", "fast", "stop")
            stopped = time.monotonic()
            await until_status(f"{base}/readyz", 503)
            during = await until_metrics(
                base,
                lambda m: (
                    m["prober_writer_queue_rows"] > 0
                    and m["prober_writer_spill_file_rows"] > 0
                ),
            )
            assert during["prober_database_up"] == 0
            assert during["prober_writer_spilled_rows_total"] > 0
            # The outage lasts its full length whatever the checks took.
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
            assert (await get(f"{base}/readyz"))[0] == 503
            await asyncio.to_thread(cluster.start)
            await until_status(f"{base}/readyz", 200)
            after = await until_metrics(
                base, lambda m: m["prober_writer_spill_file_rows"] == 0
            )
            assert after["prober_database_up"] == 1
    fired = probes_fired(service)
    assert fired > OUTAGE_S * 3
    assert rows_stored(cluster.url) == fired
    where = f"127.0.0.1:{cluster.port}/postgres unreachable: holding probe_results"
    outage = [r.getMessage() for r in caplog.records if where in r.getMessage()]
    assert len(outage) == 1, outage
    assert not [record for record in caplog.records if record.exc_info], "traceback"


class Locked:
    """Another connection holds the write lock (BEGIN EXCLUSIVE)."""

    cause = "database is locked"

    def __init__(self, database: Path) -> None:
        self._connection = sqlite3.connect(
            database, timeout=10, isolation_level=None, check_same_thread=False
        )

    def impose(self) -> None:
        self._connection.execute("BEGIN EXCLUSIVE")

    def hold(self) -> None:
        """Nothing to renew: the lock lasts until cleared."""

    def clear(self) -> None:
        if self._connection.in_transaction:
            self._connection.execute("ROLLBACK")
        self._connection.close()


class ReadOnly:
    """The database and its log made immutable: root's write permission
    bypasses mode bits and a read-only remount is refused while the file is
    open for writing, but not ``chattr +i``."""

    cause = "read-only"

    def __init__(self, database: Path) -> None:
        self._files = [str(database), f"{database}-wal"]

    def impose(self) -> None:
        done = subprocess.run(["chattr", "+i", *self._files], capture_output=True)
        if done.returncode:
            pytest.skip(f"chattr +i refused here: {done.stderr.decode().strip()}")

    def hold(self) -> None:
        """Nothing to renew: the flag stays until cleared."""

    def clear(self) -> None:
        subprocess.run(["chattr", "-i", *self._files], check=True, timeout=10)


class DiskFull:
    """The small filesystem holding the database filled to the last byte."""

    cause = "disk full"

    def __init__(self, database: Path) -> None:
        self._database = database
        self._filler = database.parent / "filler"

    def impose(self) -> None:
        # A checkpoint that empties the log first, so the next commit has to
        # grow a file rather than reuse log space already allocated.
        with sqlite3.connect(self._database, timeout=10) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.hold()

    def hold(self) -> None:
        """Fill again whatever failed writes gave back, as the other users
        of a full disk would."""
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for size in (1 << 20, 4096, 1):
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * size)
        finally:
            os.close(fd)

    def clear(self) -> None:
        self._filler.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of the test's own."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


async def _sqlite_outage(
    database: Path,
    condition: Locked | ReadOnly | DiskFull,
    caplog: pytest.LogCaptureFixture,
    max_pending_rows: int = 10_000,
    held_rows: int = 1,
) -> None:
    """The service through ``condition``: readiness off and rows held while it
    lasts (at least ``held_rows`` in memory), one log line naming the
    database and the cause, no row lost."""
    async with replay_server(PONG) as provider:
        options = ServiceOptions(
            database=str(database),
            listen="127.0.0.1:0",
            drain_grace_s=5,
            max_pending_rows=max_pending_rows,
        )
        service = Service(ping_catalog(provider.base_url), options)
        async with running(service) as base:
            await until_status(f"{base}/readyz", 200)
            caplog.clear()
            try:
                await asyncio.to_thread(condition.impose)
                await until_status(f"{base}/readyz", 503)
                await asyncio.to_thread(condition.hold)
                during = await until_metrics(
                    base, lambda m: m["prober_writer_queue_rows"] >= held_rows
                )
                assert during["prober_database_up"] == 0
            finally:
                await asyncio.to_thread(condition.clear)
            await until_status(f"{base}/readyz", 200)
            await until_metrics(
                base,
                lambda m: (
                    m["prober_writer_queue_rows"] + m["prober_writer_spill_file_rows"]
                    == 0
                ),
            )
    fired = probes_fired(service)
    assert fired > 0 and rows_stored(str(database)) == fired
    outage = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR and "holding" in record.getMessage()
    ]
    assert len(outage) == 1, outage
    assert f"{database} {condition.cause}: holding" in outage[0], outage
    assert not [record for record in caplog.records if record.exc_info], "traceback"


@pytest.mark.timeout(60)
async def test_sqlite_locked_by_another_connection_loses_no_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "prober.db"
    await _sqlite_outage(database, Locked(database), caplog)


@pytest.mark.timeout(60)
async def test_sqlite_made_read_only_loses_no_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "prober.db"
    await _sqlite_outage(database, ReadOnly(database), caplog)


@pytest.mark.timeout(60)
async def test_sqlite_out_of_disk_space_loses_no_row(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = small_disk / "prober.db"
    # Few rows allowed in memory, so the spill file (on the same full disk)
    # is tried; the rows it cannot take stay in memory.
    await _sqlite_outage(
        database, DiskFull(database), caplog, max_pending_rows=5, held_rows=15
    )
    assert any("cannot write the spill file" in r.getMessage() for r in caplog.records)


def _admin(sql: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


@pytest.mark.timeout(60)
def test_postgresql_turned_read_only_holds_rows_instead_of_rejecting_them(
    postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database that refuses every write (a standby, or
    default_transaction_read_only) is an outage, not bad rows."""
    name = postgres_url.rsplit("/", 1)[1]
    engine = make_engine(postgres_url)
    create_schema(engine)
    writer = ResultWriter(engine, tmp_path / "spill.jsonl", retry_interval_s=0.2)
    writer.start()
    try:
        _admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        _admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        rows = [result_row(float(n)) for n in range(5)]
        for row in rows:
            writer.submit(row)
        assert not writer.flush(timeout_s=3)
        assert not writer.healthy and writer.rejected_total == 0
        _admin(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        assert writer.flush(timeout_s=20) and writer.healthy
    finally:
        writer.close()
        engine.dispose()
    assert rows_stored(postgres_url) == len(rows)
    outage = [r.getMessage() for r in caplog.records if "holding" in r.getMessage()]
    assert len(outage) == 1 and f"{name} read-only: holding" in outage[0], outage
