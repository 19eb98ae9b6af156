"""The service keeps probing while hostile answers are graded.

One model answers every coding task with code that attacks the grader (a
fork bomb, a memory hog, an infinite loop, killing its parent, killing
everything it may); another is pinged twice a second. Grading runs in the
service's worker processes under the sandbox, so the pings must keep their
schedule, the event loop must stay responsive, the service must stay up, and
every hostile answer must end as a recorded failing grade.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from prober.catalog import Catalog, Provider
from prober.config import ProbeConfig, ScheduleConfig
from prober.grader import GradingPool
from prober.grading import GradingSettings
from prober.grading.settings import MIB
from prober.service import Service, ServiceOptions
from storage import ProbeResult, make_engine
from tests.catalogs import catalog_with_tasks
from tests.replay import chunk, sse, usage_chunk

pytestmark = pytest.mark.timeout(60)

PING_INTERVAL_S = 0.5
# A ping may wait for a slot in the scheduler or the provider, but never for
# grading: more than this many intervals without a ping row is a stall.
MAX_GAP_INTERVALS = 4
# Grading on the loop would hold it for a whole grade (a second or more, the
# sandbox's wall timeout for a hostile one); a busy shared machine alone
# delays a wake-up by tens of milliseconds, sometimes over a hundred.
MAX_LOOP_LAG_S = 0.5
GRADED_WITHIN_S = 40.0

ATTACKS = {
    "fork-bomb": "import os\nwhile True:\n    try:\n        os.fork()\n"
    "    except OSError:\n        pass",
    "memory-hog": "x = []\nwhile True:\n    x.append(' ' * 10**7)",
    "infinite-loop": "while True:\n    pass",
    "kill-parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    "os.killpg(0, signal.SIGKILL)",
    "kill-everything": "import os, signal\nos.kill(-1, signal.SIGKILL)",
}


def _answer(code: str) -> str:
    return f"```python\n{code}\n\ndef flatten(x):\n    return x\n```\n"


def _catalog(base_url: str) -> tuple[Catalog, str, dict[str, str]]:
    """The catalog, the pinged model, and each attacking model's attack."""
    catalog = catalog_with_tasks(
        "flatten", ping=ProbeConfig(interval_s=3600, jitter_s=0, max_tokens=16)
    )
    names = sorted(catalog.models)[: len(ATTACKS) + 1]
    pinged, attackers = names[0], dict(zip(names[1:], ATTACKS, strict=True))
    intervals = {pinged: {"ping": PING_INTERVAL_S, "coding": 3600.0}}
    intervals |= {model: {"ping": 3600.0, "coding": 3600.0} for model in attackers}
    provider = Provider("scripted", base_url, None, 16, None)
    catalog = replace(
        catalog,
        models={m: replace(catalog.models[m], provider="scripted") for m in names},
        providers={"scripted": provider},
        schedule=ScheduleConfig(coding_interval_s=3600),
        model_intervals=intervals,
    )
    return catalog, pinged, attackers


@asynccontextmanager
async def _provider() -> AsyncIterator[_Provider]:
    """Pong to pings, an attack to each attacker's coding task, 503 else."""
    provider = _Provider()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", provider.complete)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    provider.base_url = f"http://{host}:{port}/v1"
    try:
        yield provider
    finally:
        await runner.cleanup()


class _Provider:
    def __init__(self) -> None:
        self.base_url = ""
        self.attackers: dict[str, str] = {}

    async def complete(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        prompt = body["messages"][-1]["content"]
        if prompt == "prompt of ping":
            text = "pong"
        elif body["model"] in self.attackers:
            text = _answer(ATTACKS[self.attackers[body["model"]]])
        else:
            return web.json_response({"error": {"message": "busy"}}, status=503)
        events = sse(chunk(text, finish="stop"), usage_chunk(10, 5))
        return web.Response(body=events, content_type="text/event-stream")


class _LoopWatch:
    """How late the event loop wakes a task that sleeps in short steps."""

    STEP_S = 0.02

    def __init__(self) -> None:
        self.worst_s = 0.0
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> _LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def _watch(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.STEP_S)
            late = time.monotonic() - before - self.STEP_S
            self.worst_s = max(self.worst_s, late)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rows(database: str) -> list[dict[str, Any]]:
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(ProbeResult)).mappings().all()  # type: ignore[call-overload]
    finally:
        engine.dispose()
    return [dict(row) for row in rows]


async def _graded(database: str, attackers: dict[str, str]) -> list[dict[str, Any]]:
    """Wait for every attacker's coding row; returns them."""
    async with asyncio.timeout(GRADED_WITHIN_S):
        while True:
            rows = await asyncio.to_thread(_rows, database)
            coding = [r for r in rows if r["probe"] == "flatten"
                      and r["model"] in attackers]  # fmt: skip
            if len(coding) >= len(attackers):
                return coding
            await asyncio.sleep(0.25)


async def test_probing_goes_on_while_hostile_answers_are_graded(
    tmp_path: Path,
) -> None:
    settings = GradingSettings(
        wall_timeout_s=4.0, cpu_limit_s=3, memory_limit_bytes=256 * MIB
    )
    grading = GradingPool(settings, workers=2)
    database = f"sqlite:///{tmp_path / 'prober.db'}"
    async with _provider() as provider:
        catalog, pinged, provider.attackers = _catalog(provider.base_url)
        attackers = provider.attackers
        options = ServiceOptions(
            database=database, listen="127.0.0.1:0", drain_grace_s=5
        )
        service = Service(catalog, options, grading)
        await service.start()
        try:
            with _LoopWatch() as watch:
                coding = await _graded(database, attackers)
                graded_at = datetime.now(UTC)
                # Pings must go on after the attacks, too.
                await asyncio.sleep(MAX_GAP_INTERVALS * PING_INTERVAL_S)
            health = f"http://127.0.0.1:{service.listen_port}/healthz"
            timeout = aiohttp.ClientTimeout(total=5)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.get(health) as response,
            ):
                assert response.status == 200
        finally:
            await service.stop()
    rows = await asyncio.to_thread(_rows, database)
    pings = sorted(_utc(r["started_at"]) for r in rows
                   if r["model"] == pinged and r["probe"] == "ping")  # fmt: skip
    gaps = [(b - a).total_seconds() for a, b in zip(pings, pings[1:], strict=False)]
    assert len(pings) >= 8, pings
    assert max(gaps) < MAX_GAP_INTERVALS * PING_INTERVAL_S, gaps
    assert watch.worst_s < MAX_LOOP_LAG_S, watch.worst_s
    assert sum(1 for at in pings if at > graded_at) >= MAX_GAP_INTERVALS - 1
    for row in coding:
        attack = attackers[row["model"]]
        assert row["ok"], (attack, row["error_type"])
        assert row["quality"] is not None, f"{attack}: no grade recorded"
        assert row["quality"] < 4.0, (attack, row["quality"])
        assert row["grade_correctness"] == 0.0, attack
