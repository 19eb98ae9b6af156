"""The JSON API fuzzed from its own OpenAPI description (schemathesis), against
a real server over a SQLite database holding rows: valid requests get answers
that match the description, invalid ones a 400 naming the parameter, and
nothing ever gets a 5xx."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode

from prober.api import PREFIX, ApiContext
from prober.catalog import build_catalog
from prober.config import load_config
from prober.metrics import ProberMetrics
from prober.reads import Reads
from prober.web import create_app
from storage import ResultWriter, create_schema, make_engine
from tests.storage.rows import BASE, result_row

EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 30}
_DEADLINE_S = 30


def _rows() -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    offset = (now - timedelta(hours=1) - BASE).total_seconds()
    rows = [result_row(offset + i * 60, ttft_s=0.1 * (i + 1)) for i in range(6)]
    rows += [
        result_row(offset + 5, ok=False, error_type="http_5xx", error_message="x"),
        result_row(offset + 7, model="qwen3-32b", probe="flatten", answer="def f(): 1"),
    ]
    return rows


async def _serve(database: str, spill: Path) -> tuple[Any, str, Any]:
    from aiohttp import web

    engine = make_engine(database)
    create_schema(engine)
    writer = ResultWriter(engine, spill)
    writer.start()
    for row in _rows():
        writer.submit(row)
    writer.close()
    catalog = build_catalog(load_config())
    reads = Reads(engine)
    context = ApiContext(reads, catalog, frozenset(catalog.models), "local")
    runner = web.AppRunner(create_app(ProberMetrics(), api=context), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]

    async def stop() -> None:
        await runner.cleanup()
        reads.close()
        engine.dispose()

    return runner, f"http://{host}:{port}", stop


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server runs on a loop of its own: schemathesis calls it blocking."""
    tmp = tmp_path_factory.mktemp("fuzz")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started = asyncio.run_coroutine_threadsafe(
        _serve(f"sqlite:///{tmp / 'fuzz.db'}", tmp / "spill.jsonl"), loop
    )
    _, url, stop = started.result(timeout=_DEADLINE_S)
    try:
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=_DEADLINE_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_DEADLINE_S)
        loop.close()


def _sent_names(case: Case) -> set[str]:
    return {*(case.query or {}), *(case.path_parameters or {})}


def _check(case: Case, url: str, session: requests.Session) -> None:
    response = case.call(base_url=url, session=session, timeout=10)
    assert response.status_code < 500, (case.as_curl_command(), response.text)
    if response.status_code == 400:
        body = response.json()
        assert body["parameter"] in _sent_names(case), (case.query, body)
        assert body["reason"] and body["parameter"] in body["error"]
        if body["parameter"] == "cursor":
            # Opaque by design: only a cursor the API handed out is valid,
            # which no schema can describe; the 400 is the documented answer.
            return
    case.validate_response(response)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
def test_fuzzed_requests_never_fail_the_server(base_url: str, mode: Any) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}{PREFIX}/openapi.json")
    session = requests.Session()
    began = time.monotonic()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if mode == GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to get wrong

        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: Case) -> None:
            _check(case, base_url, session)

        fuzz()
    session.close()
    assert operations >= 7
    assert time.monotonic() - began < 60


def test_every_bad_parameter_is_named(base_url: str) -> None:
    bad = {
        "/results?limit=0": "limit",
        "/results?limit=x": "limit",
        "/results?ok=perhaps": "ok",
        "/results?since=yesterday": "since",
        "/results?until=1e400": "until",
        "/results?cursor=%%%": "cursor",
        "/results?model=nope": "model",
        "/results?probe=nope": "probe",
        "/results?vantage=a&vantage=b": "vantage",
        "/results?modle=glm-5": "modle",
        "/percentiles?window=forever": "window",
        "/uptime?window=1y": "window",
        "/report?window=": "window",
        "/rollups?bucket=1s": "bucket",
        "/rollups?limit=100000": "limit",
        "/rollups?since=2026-13-01": "since",
        "/models?x=1": "x",
        "/answers/NOT-A-UID": "uid",
        "/answers/0123?x=1": "x",
    }
    with requests.Session() as session:
        for path, parameter in bad.items():
            response = session.get(base_url + PREFIX + path, timeout=10)
            assert response.status_code == 400, (path, response.text)
            assert response.json()["parameter"] == parameter, path
