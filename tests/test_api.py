"""The JSON API over a real database (SQLite and PostgreSQL) and a real
server: every route answers, bad parameters get a 400 naming them, and the
OpenAPI description is valid and covers every route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from prober.api import PREFIX, ApiContext
from prober.catalog import build_catalog
from prober.config import load_config
from prober.metrics import ProberMetrics
from prober.reads import Reads
from prober.web import create_app
from storage import ResultWriter, create_schema, make_engine
from tests.storage.rows import result_row


def _rows() -> list[dict[str, Any]]:
    # Relative to when the fixture runs, not when the module was imported:
    # a long suite reaches these tests minutes after collection.
    now = datetime.now(UTC)
    base = (now - timedelta(minutes=10) - result_row()["started_at"]).total_seconds()
    rows = [result_row(base + i * 60, ttft_s=0.1 * (i + 1)) for i in range(10)]
    rows += [
        result_row(base + 5, ok=False, error_type="http_5xx", ttft_s=None),
        result_row(base + 6, ok=False, error_type="rate_limited", ttft_s=None),
        result_row(base + 7, model="qwen3-32b", probe="flatten", answer="def f(): ..."),
        result_row(base - 86400 * 3, quality=8.0, probe="flatten", cost_usd=0.001),
    ]
    return rows


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[TestClient]:
    engine = make_engine(database_url)
    create_schema(engine)
    writer = ResultWriter(engine, tmp_path / "spill.jsonl")
    writer.start()
    for row in _rows():
        writer.submit(row)
    writer.close()
    catalog = build_catalog(load_config())
    reads = Reads(engine)
    context = ApiContext(reads, catalog, frozenset(catalog.models), "local")
    app = create_app(ProberMetrics(), api=context)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client
    reads.close()
    engine.dispose()


async def _get(client: TestClient, path: str, status: int = 200) -> Any:
    response = await client.get(PREFIX + path)
    assert response.status == status, await response.text()
    return await response.json()


async def test_models_show_catalog_and_state(client: TestClient) -> None:
    body = await _get(client, "/models")
    models = {m["id"]: m for m in body["models"]}
    assert len(models) == 10
    glm = models["glm-5"]
    assert glm["state"] == "up" and glm["price_per_mtok"] == 1.92
    assert glm["last_error"]["error_type"] == "rate_limited"
    assert models["kimi-k2.5"]["state"] == "unknown"


async def test_results_filter_and_page(client: TestClient) -> None:
    body = await _get(client, "/results?model=glm-5&ok=false")
    assert {r["error_type"] for r in body["results"]} == {"http_5xx", "rate_limited"}
    seen, cursor = 0, ""
    while True:
        page = await _get(client, f"/results?limit=3{cursor}")
        seen += len(page["results"])
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == 14
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    since = since.replace("+00:00", "Z")
    recent = await _get(client, f"/results?since={since}&probe=ping&limit=1000")
    assert len(recent["results"]) == 12


async def test_percentiles_uptime_report_rollups_and_answers(
    client: TestClient,
) -> None:
    body = await _get(client, "/percentiles?model=glm-5&probe=ping&window=1h")
    (row,) = body["percentiles"]
    assert row["ttft_s"]["count"] == 10
    assert row["ttft_s"]["p50"] == pytest.approx(0.55)

    body = await _get(client, "/uptime?window=24h")
    glm = next(r for r in body["uptime"] if r["model"] == "glm-5")
    assert (glm["ok"], glm["errors"], glm["rate_limited"]) == (10, 1, 1)
    assert glm["ratio"] == pytest.approx(10 / 11)

    body = await _get(client, "/report?window=7d")
    ranking = body["ranking"]
    assert [r["rank"] for r in ranking] == list(range(1, 11))
    assert ranking[0]["model"] == "glm-5" and ranking[0]["value"] == 8.0 / 1.92
    assert ranking[0]["spend_usd"] == pytest.approx(0.001)

    body = await _get(client, "/rollups?bucket=1h")
    assert body["rollups"] == []  # none computed in this test

    results = await _get(client, "/results?model=qwen3-32b")
    uid = results["results"][0]["uid"]
    assert (await _get(client, f"/answers/{uid}"))["answer"] == "def f(): ..."
    await _get(client, f"/answers/{'0' * 32}", status=404)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("/results?limit=0", "limit"),
        ("/results?limit=ten", "limit"),
        ("/results?model=gpt-9", "model"),
        ("/results?probe=pingg", "probe"),
        ("/results?since=yesterday", "since"),
        ("/results?until=1e400", "until"),
        ("/results?ok=maybe", "ok"),
        ("/results?cursor=%%%", "cursor"),
        ("/results?limit=1&limit=2", "limit"),
        ("/results?modle=glm-5", "modle"),
        ("/percentiles?window=2h", "window"),
        ("/uptime?window=forever", "window"),
        ("/report?window=1y", "window"),
        ("/rollups?bucket=1m", "bucket"),
        ("/answers/not-a-uid", "uid"),
        ("/models?x=1", "x"),
    ],
)
async def test_bad_parameters_get_400_naming_them(
    client: TestClient, query: str, parameter: str
) -> None:
    body = await _get(client, query, status=400)
    assert body["parameter"] == parameter
    assert parameter in body["error"]


async def test_openapi_is_valid_and_describes_every_route(client: TestClient) -> None:
    document = await _get(client, "/openapi.json")
    validate(document)
    routes = {
        route.resource.canonical
        for route in client.app.router.routes()  # type: ignore[union-attr]
        if route.resource is not None and route.resource.canonical.startswith(PREFIX)
    }
    assert routes == set(document["paths"])
