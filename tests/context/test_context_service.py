"""`prober run` with a context job: the sweep runs on its schedule, its
records and figures are stored, and the gauges appear on /metrics; a sweep
request leaves the model's up gauge alone."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from prober.catalog import build_catalog
from prober.config import load_config
from prober.service import Service, ServiceOptions
from tests.context.conftest import FastSimulator

pytestmark = pytest.mark.timeout(120)

MODEL = "qwen3-32b"


def _stored_sweeps(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database) as db:
            return int(db.execute("SELECT COUNT(*) FROM context_sweeps").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


async def test_a_scheduled_sweep_is_stored_and_shown(
    fast_simulator: FastSimulator, tmp_path: Path
) -> None:
    # Only the context job: every other probe off, one model.
    others = ("ping", "flatten", "race-condition", "dijkstra", "code-review",
              "express-endpoint")  # fmt: skip
    disabled = "".join(f"[probes.{name}]\nenabled = false\n" for name in others)
    config = fast_simulator.config(
        tmp_path, "[probes.context]\nladder = [1024, 16384, 65536]\n" + disabled
    )
    catalog = build_catalog(load_config(config))
    catalog = dataclasses.replace(catalog, models={MODEL: catalog.models[MODEL]})
    database = tmp_path / "prober.db"
    options = ServiceOptions(str(database), "127.0.0.1:0", "test", drain_grace_s=1)
    service = Service(catalog, options)
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    try:
        deadline = time.monotonic() + 60
        while await asyncio.to_thread(_stored_sweeps, database) == 0:
            assert not running.done(), running
            assert time.monotonic() < deadline, "no sweep stored within 60 s"
            await asyncio.sleep(0.5)
        url = f"http://127.0.0.1:{service.listen_port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            metrics = await response.text()
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
    }

    def value(name: str, **extra: str) -> float | None:
        labels = {"model": MODEL, "provider": "simulator", "vantage": "test", **extra}
        return samples.get((name, tuple(sorted(labels.items()))))

    assert value("prober_context_effective_tokens") == 16384
    assert value("prober_context_accuracy_ratio", length="64k") == 0.0
    assert value("prober_context_ttft_seconds", length="16k") is not None
    prefill = value("prober_context_prefill_tokens_per_second")
    assert prefill == pytest.approx(60_000, rel=0.15)
    assert value("prober_requests_total", probe="context") == 9
    assert value("prober_model_up") is None
    with sqlite3.connect(database) as db:
        (rows,) = db.execute(
            "SELECT COUNT(*) FROM probe_results WHERE probe = 'context'"
        ).fetchone()
    assert rows == 9
