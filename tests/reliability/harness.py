"""The service in-process against a scripted provider, with what the outage
tests read from it: readiness, metrics, probes fired and rows stored."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

import aiohttp
from sqlalchemy import func, select

from prober.catalog import Catalog, Provider
from prober.config import ProbeConfig
from prober.service import Service
from storage import ProbeResult, make_engine
from tests.catalogs import catalog_with_tasks
from tests.replay import Script, chunk, sse, usage_chunk

PONG = Script([sse(chunk("pong", finish="stop"), usage_chunk(5, 1))])


def ping_catalog(base_url: str, models: int = 3, interval_s: float = 0.3) -> Catalog:
    """``models`` models pinged every ``interval_s`` through one provider."""
    catalog = catalog_with_tasks(
        ping=ProbeConfig(interval_s=interval_s, jitter_s=0, max_tokens=16)
    )
    chosen = sorted(catalog.models)[:models]
    provider = Provider("scripted", base_url, None, 8, None)
    return replace(
        catalog,
        models={k: replace(catalog.models[k], provider="scripted") for k in chosen},
        providers={"scripted": provider},
    )


@asynccontextmanager
async def running(service: Service) -> AsyncIterator[str]:
    await service.start()
    try:
        yield f"http://127.0.0.1:{service.listen_port}"
    finally:
        await service.stop()


async def get(url: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url) as response,
    ):
        return response.status, await response.text()


async def poll(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    """Ask ``check`` until it says yes, within ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.2)


async def until_status(url: str, status: int, timeout_s: float = 30.0) -> None:
    async def answered() -> bool:
        return (await get(url))[0] == status

    await poll(answered, timeout_s)


async def metrics(base: str) -> dict[str, float]:
    """The service's own gauges, summed over their labels."""
    _, text = await get(f"{base}/metrics")
    values: dict[str, float] = {}
    for name, value in re.findall(r"^(prober_\w+)(?:{[^}]*})? (\S+)$", text, re.M):
        values[name] = values.get(name, 0.0) + float(value)
    return values


async def until_metrics(
    base: str, check: Callable[[dict[str, float]], bool], timeout_s: float = 30.0
) -> dict[str, float]:
    """Scrape until ``check`` accepts the figures; returns them."""
    seen: dict[str, float] = {}

    async def accepted() -> bool:
        seen.update(await metrics(base))
        return check(seen)

    await poll(accepted, timeout_s)
    return seen


def probes_fired(service: Service) -> int:
    return int(
        sum(
            sample.value
            for family in service.metrics.registry.collect()
            if family.name == "prober_requests"
            for sample in family.samples
            if sample.name == "prober_requests_total"
        )
    )


def rows_stored(database: str) -> int:
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            count = connection.execute(
                select(func.count()).select_from(ProbeResult)
            ).scalar()
    finally:
        engine.dispose()
    return int(count or 0)
