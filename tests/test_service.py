"""The whole service in-process, against scripted providers: the database
going away and coming back (readiness, queue, nothing lost), and metric
labels staying bounded whatever a provider sends."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from prober.catalog import Catalog, Provider
from prober.config import ProbeConfig, ScheduleConfig
from prober.metrics import ERROR_TYPES, PHASES, SKIP_REASONS, UPTIME_WINDOWS
from prober.service import Service, ServiceOptions
from storage import ProbeResult, make_engine
from tests.catalogs import catalog_with_tasks
from tests.conftest import POSTGRES_ADMIN_URL
from tests.reliability.harness import get, poll, running, until_status
from tests.replay import CLOSE, Script, chunk, replay_server, sse, usage_chunk

GOOD = Script([sse(chunk("pong", finish="stop"), usage_chunk(5, 1))])


def _catalog(base_url: str, models: int = 3) -> Catalog:
    catalog = catalog_with_tasks(
        "flatten", ping=ProbeConfig(interval_s=0.3, jitter_s=0, max_tokens=16)
    )
    chosen = sorted(catalog.models)[:models]
    provider = Provider("scripted", base_url, None, 8, None)
    return replace(
        catalog,
        models={k: replace(catalog.models[k], provider="scripted") for k in chosen},
        providers={"scripted": provider},
        schedule=ScheduleConfig(coding_interval_s=0.7),
    )


class _Proxy:
    """A TCP proxy to PostgreSQL that can be cut, as if the database went."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._pipe, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):  # type: ignore[no-untyped-def]
        try:
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self._target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._copy(reader, up_writer), self._copy(up_reader, writer)
        )

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):  # type: ignore[no-untyped-def]
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


def _metric(text: str, name: str) -> float:
    values = re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)
    return sum(float(v) for v in values)


async def test_database_outage_turns_readiness_off_and_loses_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    pg_port = int(re.search(r":(\d+)/", POSTGRES_ADMIN_URL).group(1))  # type: ignore[union-attr]
    proxy = _Proxy(pg_port)
    await proxy.start()
    proxied = re.sub(r":\d+/", f":{proxy.port}/", postgres_url)
    async with replay_server(GOOD) as provider:
        options = ServiceOptions(
            database=proxied,
            listen="127.0.0.1:0",
            drain_grace_s=5,
            spill_path=tmp_path / "spill.jsonl",
        )
        service = Service(_catalog(provider.base_url), options)
        async with running(service) as base:
            await until_status(f"{base}/readyz", 200)
            await proxy.cut()
            await until_status(f"{base}/readyz", 503)
            _, metrics = await get(f"{base}/metrics")
            assert _metric(metrics, "prober_database_up") == 0
            await asyncio.sleep(1.0)
            _, metrics = await get(f"{base}/metrics")
            assert _metric(metrics, "prober_writer_queue_rows") > 0
            await proxy.start()
            await until_status(f"{base}/readyz", 200)
            assert service._writer is not None  # noqa: SLF001
            await asyncio.to_thread(service._writer.flush, 20.0)  # noqa: SLF001
    requests = sum(
        sample.value
        for family in service.metrics.registry.collect()
        if family.name == "prober_requests"
        for sample in family.samples
        if sample.name == "prober_requests_total"
    )
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        stored = connection.execute(
            select(func.count()).select_from(ProbeResult)  # type: ignore[arg-type]
        ).scalar()
    engine.dispose()
    await proxy.cut()
    assert requests > 0 and stored == requests


HOSTILE = [
    Script([b"<html>oops</html>"], status=502, content_type="text/html"),
    Script([b'{"error": {"message": "slow down sk-abcdefghijklmnop"}}'], status=429),
    Script([sse(chunk("x", model="evil-" + "z" * 300), done=False), CLOSE]),
    Script([b"data: {not json\n\n"]),
    Script([b"\x00\xff garbage"], content_type="application/octet-stream"),
    Script([sse(chunk("pong", finish="stop", model="gpt-9"), usage_chunk(5, 1))]),
    Script([b"{}"], status=418, content_type="application/json"),
]


async def test_metric_labels_stay_in_closed_sets_whatever_providers_send(
    tmp_path: Path,
) -> None:
    async with replay_server(*(HOSTILE * 3)) as provider:
        catalog = _catalog(provider.base_url, models=2)
        options = ServiceOptions(
            database=str(tmp_path / "prober.db"),
            listen="127.0.0.1:0",
            vantage="lab",
            drain_grace_s=5,
        )
        service = Service(catalog, options)
        async with running(service):

            async def served() -> bool:
                return len(provider.requests) >= len(HOSTILE) * 3

            await poll(served)
    allowed = {
        "model": set(catalog.models),
        "provider": {"scripted"},
        "probe": set(catalog.tasks) | {"coding"},
        "vantage": {"lab"},
        "error_type": set(ERROR_TYPES),
        "phase": set(PHASES),
        "window": set(UPTIME_WINDOWS),
        "reason": set(SKIP_REASONS),
    }
    seen_errors = set()
    for family in service.metrics.registry.collect():
        for sample in family.samples:
            for label, value in sample.labels.items():
                if label in ("le", "quantile"):
                    continue
                assert label in allowed, (sample.name, label)
                assert value in allowed[label], (sample.name, label, value)
                if label == "error_type":
                    seen_errors.add(value)
    assert {"http_5xx", "rate_limited", "protocol_error"} <= seen_errors
