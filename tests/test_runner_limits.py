"""The runner's per-provider limits and its deadline, against a real server
that counts what arrives."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from aiohttp import web

from prober.catalog import Catalog, Provider
from prober.client import StreamingClient
from prober.runner import Runner
from tests.catalogs import catalog_with_tasks
from tests.replay import chunk, sse, usage_chunk


class Counter:
    def __init__(self) -> None:
        self.inflight = 0
        self.peak = 0
        self.arrivals: list[float] = []


@asynccontextmanager
async def counting_server(
    hold_s: float, hang: bool = False
) -> AsyncIterator[tuple[str, Counter]]:
    counter = Counter()

    async def serve(request: web.Request) -> web.StreamResponse:
        counter.arrivals.append(time.monotonic())
        counter.inflight += 1
        counter.peak = max(counter.peak, counter.inflight)
        try:
            response = web.StreamResponse()
            response.content_type = "text/event-stream"
            await response.prepare(request)
            await response.write(sse(chunk("po"), done=False))
            await asyncio.sleep(3600 if hang else hold_s)
            await response.write(sse(chunk("ng", finish="stop"), usage_chunk(5, 2)))
            return response
        finally:
            counter.inflight -= 1

    app = web.Application()
    app.router.add_post("/v1/chat/completions", serve)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/v1", counter
    finally:
        await runner.cleanup()


def _catalog(base_url: str, concurrency: int, per_minute: float | None) -> Catalog:
    catalog = catalog_with_tasks()
    provider = Provider("limited", base_url, None, concurrency, per_minute)
    models = {k: replace(m, provider="limited") for k, m in catalog.models.items()}
    return replace(catalog, models=models, providers={"limited": provider})


async def test_concurrency_and_request_rate_hold_per_provider() -> None:
    async with counting_server(hold_s=0.2) as (url, counter):
        catalog = _catalog(url, concurrency=2, per_minute=600)  # 0.1 s apart
        async with StreamingClient() as client:
            runner = Runner(catalog, client)
            models = list(catalog.models)[:8]
            runs = await asyncio.gather(*(runner.run(m, "ping") for m in models))
    assert all(run.ok for run in runs), [run.record["error_message"] for run in runs]
    assert counter.peak <= 2
    gaps = [b - a for a, b in itertools.pairwise(counter.arrivals)]
    assert min(gaps) >= 0.09


async def test_a_probe_still_going_at_its_deadline_is_cut_and_recorded() -> None:
    async with counting_server(hold_s=0, hang=True) as (url, _):
        catalog = _catalog(url, concurrency=1, per_minute=None)
        async with StreamingClient() as client:
            runner = Runner(catalog, client)
            # The queued probe's deadline comes first, so it is cut while
            # the other one still holds the provider's only slot.
            sent, queued = await asyncio.gather(
                runner.run("glm-5", "ping", deadline_s=1.0),
                runner.run("qwen3-32b", "ping", deadline_s=0.3),
            )
    for run in (sent, queued):
        assert run.cut and not run.ok
        assert run.record["error_type"] == "total_timeout"
    assert "cut at the probe deadline" in sent.record["error_message"]
    assert "waiting for a provider slot" in queued.record["error_message"]
