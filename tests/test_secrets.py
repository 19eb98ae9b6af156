"""An API key read from the environment never leaves the process: the whole
service probes a provider that echoes the key back everywhere it can (error
bodies, headers, stream errors, answers, model names), the database goes away
so rows spill, and then every output is searched for the key: logs at every
level, every column of every table, every file written, /metrics, the status
page, every API route and every report format."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from click.testing import CliRunner
from sqlalchemy import MetaData, select, text

from prober.catalog import Catalog, Provider
from prober.cli import main
from prober.client import Endpoint
from prober.config import ProbeConfig, ScheduleConfig
from prober.redact import REDACTED
from prober.service import Service, ServiceOptions
from prober.tabular import FORMATS
from storage import make_engine
from tests.catalogs import catalog_with_tasks

# Not shaped like any well-known key, so only exact-value redaction hides it.
CANARY = "canary" + secrets.token_hex(16)
KEY_ENV = "GLOBAL_API_KEY"
_TIMEOUT = aiohttp.ClientTimeout(total=10)


def _sse(*payloads: Any) -> bytes:
    out = b""
    for payload in payloads:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        out += b"data: " + data.encode() + b"\n\n"
    return out


def _chunk(key: str, content: str | None, finish: str | None = None) -> Any:
    return {
        "id": key,
        "object": "chat.completion.chunk",
        "model": f"echo-{key}",
        "system_fingerprint": f"fp-{key}",
        "choices": [
            {
                "index": 0,
                "delta": {"content": content, "reasoning_content": f"think {key}"},
                "finish_reason": finish,
            }
        ],
    }


def _replies(key: str, auth: str) -> list[web.Response]:
    """One of each way a provider can hand the key back."""
    echo = {"X-Echo-Key": key, "WWW-Authenticate": f'Bearer realm="{auth}"'}
    usage = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    return [
        web.json_response(
            {"error": {"message": f"Incorrect API key provided: {key}", "auth": auth}},
            status=401,
            headers=echo,
        ),
        web.Response(
            text=f"upstream failed for Authorization: {auth} (key={key})",
            status=500,
            headers=echo,
        ),
        web.json_response({"error": {"message": f"slow down {key}"}}, status=429),
        web.Response(
            body=_sse(
                _chunk(key, f"pong {key}"),
                {"error": {"message": f"key {key} revoked", "code": auth}},
            ),
            content_type="text/event-stream",
            headers=echo,
        ),
        web.Response(
            body=_sse(
                _chunk(key, f"pong {key} {auth}"),
                _chunk(key, None, finish=key[:40]),
                usage,
                "[DONE]",
            ),
            content_type="text/event-stream",
            headers=echo,
        ),
        web.Response(
            body=b"event: error\ndata: " + f"bad key {key}".encode() + b"\n\n",
            content_type="text/event-stream",
        ),
        web.Response(text=f"<html>{auth}</html>", status=502, content_type="text/html"),
    ]


class _Seen:
    """The Authorization headers the provider got, and a way to wait for
    a number of them."""

    def __init__(self) -> None:
        self.headers: list[str] = []
        self._changed = asyncio.Condition()

    async def add(self, header: str) -> int:
        async with self._changed:
            self.headers.append(header)
            self._changed.notify_all()
        return len(self.headers)

    async def reach(self, count: int, timeout_s: float = 30.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: len(self.headers) >= count)


@asynccontextmanager
async def _echo_provider() -> AsyncIterator[tuple[str, _Seen]]:
    seen = _Seen()

    async def complete(request: web.Request) -> web.Response:
        await request.read()
        auth = request.headers.get("Authorization", "")
        count = await seen.add(auth)
        replies = _replies(auth.removeprefix("Bearer "), auth)
        return replies[count % len(replies)]

    app = web.Application()
    app.router.add_post("/v1/chat/completions", complete)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/v1", seen
    finally:
        await runner.cleanup()


def _catalog(base_url: str) -> Catalog:
    catalog = catalog_with_tasks(
        "flatten", ping=ProbeConfig(interval_s=0.2, jitter_s=0, max_tokens=16)
    )
    chosen = sorted(catalog.models)[:2]
    provider = Provider("global-api", base_url, KEY_ENV, 8, None)
    return replace(
        catalog,
        models={k: replace(catalog.models[k], provider="global-api") for k in chosen},
        providers={"global-api": provider},
        schedule=ScheduleConfig(coding_interval_s=0.5),
    )


async def _http_outputs(base: str, session: aiohttp.ClientSession) -> dict[str, str]:
    """Every page and API answer the service gives, by path."""
    api = f"{base}/api/v1"
    paths = [
        "/metrics", "/", "/readyz", "/healthz", "/api/v1/models",
        "/api/v1/percentiles", "/api/v1/uptime", "/api/v1/report",
        "/api/v1/rollups", "/api/v1/openapi.json",
    ]  # fmt: skip
    outputs = {}
    for path in paths:
        async with session.get(base + path) as response:
            outputs[path] = await response.text()
            # /readyz may say 503 at any moment; every other page must answer.
            assert response.status == 200 or path == "/readyz", path
    cursor: str | None = ""
    while cursor is not None:
        query = f"?limit=50&cursor={cursor}" if cursor else "?limit=50"
        async with session.get(f"{api}/results{query}") as response:
            page = await response.json()
        outputs[f"/api/v1/results{query}"] = json.dumps(page)
        for row in page["results"]:
            async with session.get(f"{api}/answers/{row['uid']}") as response:
                outputs[f"/api/v1/answers/{row['uid']}"] = await response.text()
                assert response.status in (200, 404)
        cursor = page["next_cursor"]
    return outputs


def _table_dump(database: str) -> dict[str, str]:
    engine = make_engine(database)
    tables = MetaData()
    tables.reflect(engine)
    dump = {}
    with engine.connect() as connection:
        for name, table in tables.tables.items():
            rows = connection.execute(select(table)).all()
            dump[name] = repr(rows)
    engine.dispose()
    return dump


def _reports(database: str) -> dict[str, str]:
    runs = [["--format", fmt] for fmt in FORMATS]
    runs += [["--context"], ["--load"], ["--load", "--format", "json"]]
    outputs = {}
    for args in runs:
        result = CliRunner().invoke(main, ["report", "--database", database, *args])
        assert result.exit_code == 0, result.output
        outputs[" ".join(args)] = result.output + result.stderr
    return outputs


def _files(root: Path) -> dict[str, str]:
    return {
        str(path): path.read_bytes().decode("latin-1")
        for path in root.rglob("*")
        if path.is_file()
    }


def _leaks(outputs: dict[str, str]) -> list[str]:
    """Each output holding the key, with what surrounds it."""
    found = []
    for name, body in outputs.items():
        at = body.find(CANARY)
        if at >= 0:
            found.append(f"{name}: ...{body[max(0, at - 60) : at + 60]!r}")
    return found


@pytest.mark.timeout(120)
async def test_key_never_leaves_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(KEY_ENV, CANARY)
    caplog.set_level(logging.DEBUG)
    database = str(tmp_path / "prober.db")
    spill = tmp_path / "spill.jsonl"
    async with _echo_provider() as (base_url, seen):
        options = ServiceOptions(
            database=database,
            listen="127.0.0.1:0",
            drain_grace_s=5,
            spill_path=spill,
        )
        service = Service(_catalog(base_url), options)
        await service.start()
        try:
            await seen.reach(30)
            assert service._writer is not None  # noqa: SLF001
            await asyncio.to_thread(service._writer.flush, 20.0)  # noqa: SLF001
            base = f"http://127.0.0.1:{service.listen_port}"
            async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
                served = await _http_outputs(base, session)
            # The results table goes away: writes fail as if the database
            # were gone, and what is left at stop is spilled to the file.
            _rename_results(database, "probe_results", "results_away")
            await seen.reach(50)
        finally:
            await service.stop()
    _rename_results(database, "results_away", "probe_results")

    assert all(auth == f"Bearer {CANARY}" for auth in seen.headers)
    assert spill.exists() and spill.read_text().count("\n") > 0
    outputs = {
        **served,
        **{f"table {k}": v for k, v in _table_dump(database).items()},
        **{f"file {k}": v for k, v in _files(tmp_path).items()},
        **{f"report {k}": v for k, v in _reports(database).items()},
        "logs": caplog.text,
        "log records": repr([r.__dict__ for r in caplog.records]),
    }
    # The echoes did arrive, and were stored masked: the search is not empty.
    results = outputs["table probe_results"]
    assert "echo-[redacted]" in results and "fp-[redacted]" in results
    assert "Incorrect API key provided: [redacted]" in results
    assert "pong [redacted]" in outputs["table probe_answers"]
    assert REDACTED in spill.read_text()
    assert {"http_4xx", "http_5xx", "rate_limited", "stream_error"} <= {
        row["error_type"] for row in _spilled(spill) + _stored(served)
    }
    assert _leaks(outputs) == []


def _spilled(spill: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in spill.read_text().splitlines()]


def _stored(served: dict[str, str]) -> list[dict[str, Any]]:
    pages = [v for k, v in served.items() if k.startswith("/api/v1/results")]
    return [row for page in pages for row in json.loads(page)["results"]]


def test_endpoint_repr_hides_the_key() -> None:
    endpoint = Endpoint("http://127.0.0.1:1/v1", CANARY)
    assert CANARY not in repr(endpoint) and CANARY not in str(endpoint)


def _rename_results(database: str, old: str, new: str) -> None:
    engine = make_engine(database)
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    engine.dispose()
