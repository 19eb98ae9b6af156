"""The whole service in-process against the simulator with every fault kind
switched on at once, one model per fault: the service keeps answering and
scheduling, each fault is stored under its own error type, the models come
back once the faults are cleared, every run the scheduler fires leaves
exactly one row, and nothing unhandled is logged. Then the same for a
provider that goes away entirely (connections refused) and returns."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import simulator
from prober.catalog import Catalog, build_catalog
from prober.config import load_config
from prober.metrics import ProberMetrics
from prober.outcome import ErrorType
from prober.service import Service, ServiceOptions
from tests.reliability.setup import fast_profiles, ping_only_config, stored_rows

REFUSED_MODEL = "refused-model"
RATE_LIMITED_MODEL = "deepseek-r1"
CLEAN_MODEL = "deepseek-v4-flash"

# model: (fault kind, its settings, the error type every probe must get)
FAULTS: dict[str, tuple[str, dict[str, Any], ErrorType]] = {
    "qwen3-coder-30b": (
        "server_error",
        {"probability": 1.0, "burst_s": 120.0, "status": 503},
        ErrorType.HTTP_5XX,
    ),
    "deepseek-coder": ("gateway_html", {"probability": 1.0}, ErrorType.HTTP_5XX),
    "glm-5": ("outage", {"every_s": 600.0, "duration_s": 600.0}, ErrorType.HTTP_5XX),
    "deepseek-v4-pro": (
        "connection_reset",
        {"probability": 1.0, "after_chunks": 0},
        ErrorType.CONNECTION_ERROR,
    ),
    "qwen3-32b": (
        "connection_reset",
        {"probability": 1.0, "after_chunks": 1},
        ErrorType.STREAM_ERROR,
    ),
    "ga-standard": (
        "stall",
        {"probability": 1.0, "after_chunks": 1, "delay_s": 5.0},
        ErrorType.STALL_TIMEOUT,
    ),
    "hunyuan-turbo": (
        "stream_error",
        {"probability": 1.0, "after_chunks": 1},
        ErrorType.STREAM_ERROR,
    ),
    "kimi-k2.5": (
        "malformed_chunk",
        {"probability": 1.0, "after_chunks": 0},
        ErrorType.PROTOCOL_ERROR,
    ),
}
ROWS_PER_MODEL = 3
TIMEOUTS = "{ connect_s = 1, first_token_s = 1, stall_s = 0.4, total_s = 3 }"

# Warnings the service is expected to log while its targets fail.
EXPECTED_WARNINGS = (
    ("prober.jobs", " is down "),
    ("prober.scheduler", "run skipped (overlap)"),
    ("apscheduler.scheduler", "maximum number of running instances reached"),
)


@contextmanager
def _refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening,
    so nothing else can take it while the test runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@asynccontextmanager
async def _simulator(tmp_path: Path) -> AsyncIterator[str]:
    profiles = fast_profiles(
        tmp_path / "profiles.toml", rate_limited=(RATE_LIMITED_MODEL,)
    )
    serving = await simulator.start(simulator.create_app(profiles, seed=7))
    try:
        async with aiohttp.ClientSession(serving.url) as admin:
            await _admin(admin, "DELETE", "/admin/faults/*/*")
            for model, (kind, settings, _) in FAULTS.items():
                await _admin(admin, "PUT", f"/admin/faults/{model}/{kind}", settings)
        yield serving.url
    finally:
        await serving.close()


async def _admin(
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> None:
    async with session.request(method, path, json=body) as response:
        assert response.status == 200, await response.text()


def _catalog(tmp_path: Path, base_url: str, refused_port: int) -> Catalog:
    extra = f"""
[providers.down]
base_url = "http://127.0.0.1:{refused_port}/v1"

[models.{REFUSED_MODEL}]
display_name = "Refused"
price_per_mtok = 1.0
provider = "down"
"""
    path = ping_only_config(
        tmp_path / "prober.toml",
        f"{base_url}/v1",
        interval_s=0.5,
        timeouts=TIMEOUTS,
        extra=extra,
    )
    return build_catalog(load_config(str(path)), str(path))


def _runs_fired(metrics: ProberMetrics) -> float:
    """Runs the scheduler started: each one observes its lag once."""
    return sum(
        sample.value
        for family in metrics.registry.collect()
        if family.name == "prober_scheduler_lag_seconds"
        for sample in family.samples
        if sample.name.endswith("_count")
    )


async def _clear_faults(base_url: str) -> None:
    async with aiohttp.ClientSession(base_url) as admin:
        await _admin(admin, "DELETE", "/admin/faults/*/*")


def _unexpected(records: list[logging.LogRecord]) -> list[str]:
    found = []
    for record in records:
        message = record.getMessage()
        expected = any(
            record.name == name and part in message for name, part in EXPECTED_WARNINGS
        )
        if record.exc_info or "Traceback" in message or "never retrieved" in message:
            expected = False
        if record.levelno >= logging.WARNING and not expected:
            found.append(f"{record.levelname} {record.name}: {message}")
    return found


async def _get(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as response:
        await response.read()
        return response.status


async def _wait_for_rows(
    database: Path, wanted: dict[str, int], session: Any, ok: bool = False
) -> None:
    """Until each model has ``wanted`` rows (successful ones with ``ok``);
    the service must answer its health and metrics endpoints all along."""
    async with asyncio.timeout(20):
        while True:
            assert await _get(session, "/healthz") == 200
            assert await _get(session, "/metrics") == 200
            rows = await asyncio.to_thread(stored_rows, database)
            counts = Counter(m for _, m, error in rows if not ok or error is None)
            if all(counts[model] >= n for model, n in wanted.items()):
                return
            await asyncio.sleep(0.2)


@pytest.mark.timeout(60)
async def test_every_fault_is_recorded_and_the_service_keeps_going(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    database = tmp_path / "prober.db"
    with _refusing_port() as refused_port:
        async with _simulator(tmp_path) as base_url:
            catalog = _catalog(tmp_path, base_url, refused_port)
            options = ServiceOptions(
                database=str(database), listen="127.0.0.1:0", drain_grace_s=10
            )
            service = Service(catalog, options)
            await service.start()
            try:
                url = f"http://127.0.0.1:{service.listen_port}"
                async with aiohttp.ClientSession(url) as session:
                    wanted = dict.fromkeys(catalog.models, ROWS_PER_MODEL)
                    await _wait_for_rows(database, wanted, session)
                    await _clear_faults(base_url)
                    await _wait_for_rows(
                        database, dict.fromkeys(FAULTS, 1), session, ok=True
                    )
            finally:
                await service.stop()
    gc.collect()

    rows = stored_rows(database)
    fired = _runs_fired(service.metrics)
    assert len(rows) == fired == len({uid for uid, _, _ in rows})
    errors: dict[str, Counter[str | None]] = {}
    for _, model, error_type in rows:
        errors.setdefault(model, Counter())[error_type] += 1
    for model, (_, _, error_type) in FAULTS.items():
        assert errors[model][error_type] >= ROWS_PER_MODEL, model
        assert set(errors[model]) == {error_type, None}, model
    assert set(errors[REFUSED_MODEL]) == {ErrorType.CONNECTION_ERROR}
    assert set(errors[CLEAN_MODEL]) == {None}
    limited = errors[RATE_LIMITED_MODEL]
    assert limited[None] <= 1 and set(limited) <= {None, ErrorType.RATE_LIMITED}
    assert limited[ErrorType.RATE_LIMITED] >= ROWS_PER_MODEL - 1
    assert _unexpected(caplog.records) == []


def _rows_by_model(database: Path, error_type: str | None) -> Counter[str]:
    rows = stored_rows(database)
    return Counter(model for _, model, error in rows if error == error_type)


async def _until_each(
    database: Path, error_type: str | None, wanted: dict[str, int], session: Any
) -> None:
    """Until each model has ``wanted`` rows of ``error_type`` (None: ok),
    the service answering its health endpoint all along."""
    async with asyncio.timeout(20):
        while True:
            assert await _get(session, "/healthz") == 200
            counts = await asyncio.to_thread(_rows_by_model, database, error_type)
            if all(counts[model] >= n for model, n in wanted.items()):
                return
            await asyncio.sleep(0.2)


@pytest.mark.timeout(60)
async def test_a_provider_that_goes_away_and_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    database = tmp_path / "prober.db"
    profiles = fast_profiles(tmp_path / "profiles.toml")
    serving = await simulator.start(simulator.create_app(profiles, seed=7))
    config = ping_only_config(
        tmp_path / "prober.toml",
        f"{serving.url}/v1",
        interval_s=0.5,
        timeouts=TIMEOUTS,
    )
    catalog = build_catalog(load_config(str(config)), str(config))
    options = ServiceOptions(str(database), "127.0.0.1:0", drain_grace_s=10)
    service = Service(catalog, options)
    await service.start()
    try:
        url = f"http://127.0.0.1:{service.listen_port}"
        async with aiohttp.ClientSession(url) as session:
            every = set(catalog.models)
            await _until_each(database, None, dict.fromkeys(every, 1), session)
            await serving.close()
            refused = dict.fromkeys(every, 2)
            await _until_each(database, ErrorType.CONNECTION_ERROR, refused, session)
            before = await asyncio.to_thread(_rows_by_model, database, None)
            app = simulator.create_app(profiles, seed=7)
            serving = await simulator.start(app, port=serving.port)
            back = {model: before[model] + 2 for model in every}
            await _until_each(database, None, back, session)
    finally:
        await service.stop()
        await serving.close()
    gc.collect()

    rows = stored_rows(database)
    assert len(rows) == _runs_fired(service.metrics)
    assert {error for _, _, error in rows} <= {
        None,
        ErrorType.CONNECTION_ERROR,
        ErrorType.STREAM_ERROR,
    }
    assert _unexpected(caplog.records) == []
