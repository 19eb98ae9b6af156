"""The read-only JSON API under ``/api/v1``.

Routes (described for machines in :mod:`prober.openapi`):

* ``GET /api/v1/models``: the catalog and each model's current state;
* ``GET /api/v1/results``: result records, newest first, paged by cursor;
* ``GET /api/v1/percentiles``: latency percentiles over a window;
* ``GET /api/v1/uptime``: uptime per model over a window;
* ``GET /api/v1/report``: the ranking (:mod:`prober.ranking`);
* ``GET /api/v1/rollups``: stored 5-minute or hourly rollups;
* ``GET /api/v1/answers/{uid}``: the stored answer of one result;
* ``GET /api/v1/openapi.json``: the OpenAPI description.

Every parameter error is a 400 whose JSON body names the parameter. All SQL
runs in worker threads (:class:`~prober.reads.Reads`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from aiohttp import web

from prober.catalog import PING, Catalog
from prober.openapi import openapi_document
from prober.params import (
    ParamError,
    check_known,
    parse_bool,
    parse_choice,
    parse_int,
    parse_names,
    parse_time,
    single,
)
from prober.ranking import ranking
from prober.reads import Reads
from prober.uptime import NOT_AVAILABILITY, WINDOWS, uptime
from storage.queries import (
    ResultFilter,
    answer,
    decode_cursor,
    latest_per_model,
    results_page,
    rollup_rows,
)
from storage.stats import latency_samples

__all__ = ["ApiContext", "add_api_routes", "model_states"]

PREFIX = "/api/v1"
LATENCY_FIELDS = ("ttft_s", "ttfa_s", "itl_s", "e2e_s", "output_tokens_per_s")
QUANTILES = (50, 90, 95, 99)
BUCKETS = {"5m": 300, "1h": 3600}
_UID = re.compile(r"^[0-9a-f]{32}$")
_STALE_INTERVALS = 3


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What the API and status page read from."""

    reads: Reads
    catalog: Catalog
    """The whole catalog, every shard's models."""
    probed: frozenset[str]
    """The models this prober probes itself."""
    vantage: str


API_KEY = web.AppKey("api", ApiContext)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_api_routes(app: web.Application, context: ApiContext) -> None:
    app[API_KEY] = context
    app.middlewares.append(_parameter_errors)
    router = app.router
    router.add_get(f"{PREFIX}/models", _models)
    router.add_get(f"{PREFIX}/results", _results)
    router.add_get(f"{PREFIX}/percentiles", _percentiles)
    router.add_get(f"{PREFIX}/uptime", _uptime)
    router.add_get(f"{PREFIX}/report", _report)
    router.add_get(f"{PREFIX}/rollups", _rollups)
    router.add_get(f"{PREFIX}/answers/{{uid}}", _answer)
    router.add_get(f"{PREFIX}/openapi.json", _openapi)


@web.middleware
async def _parameter_errors(request: web.Request, handler: Handler) -> Any:
    try:
        return await handler(request)
    except ParamError as exc:
        body = {"error": str(exc), "parameter": exc.parameter, "reason": exc.reason}
        return web.json_response(body, status=400)


def _context(request: web.Request) -> ApiContext:
    return request.app[API_KEY]


async def model_states(context: ApiContext, now: datetime) -> list[dict[str, Any]]:
    """Every catalog model with its latest result, latest failure and state:
    ``up``, ``down``, ``stale`` (no result for three intervals) or
    ``unknown`` (no result yet)."""
    models = list(context.catalog.models)
    latest = await context.reads.run(latest_per_model, models, False, NOT_AVAILABILITY)
    failures = await context.reads.run(latest_per_model, models, True, NOT_AVAILABILITY)
    return [
        _model_state(context, model_id, latest.get(model_id), failures, now)
        for model_id in models
    ]


def _model_state(
    context: ApiContext,
    model_id: str,
    last: dict[str, Any] | None,
    failures: dict[str, dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    model = context.catalog.models[model_id]
    state = "unknown"
    if last is not None:
        state = "up" if last["ok"] else "down"
        age_s = (now - datetime.fromisoformat(last["started_at"])).total_seconds()
        if age_s > _STALE_INTERVALS * context.catalog.interval(model_id, PING):
            state = "stale"
    return {
        "id": model_id,
        "display_name": model.display_name,
        "vendor": model.vendor,
        "category": model.category,
        "provider": model.provider,
        "price_per_mtok": model.price_per_mtok,
        "input_price_per_mtok": model.input_price_per_mtok,
        "context_window": model.context_window,
        "reference_quality": model.reference_quality,
        "reference_value": model.reference_value,
        "reference_rank": model.reference_rank,
        "probed_here": model_id in context.probed,
        "state": state,
        "last_result": last,
        "last_error": failures.get(model_id),
    }


async def _models(request: web.Request) -> web.Response:
    check_known(request.query, ())
    states = await model_states(_context(request), datetime.now(UTC))
    return web.json_response({"models": states})


async def _results(request: web.Request) -> web.Response:
    context, query = _context(request), request.query
    check_known(
        query, ("model", "probe", "since", "until", "ok", "limit", "cursor", "vantage")
    )
    where = ResultFilter(
        models=parse_names(query, "model", context.catalog.models),
        probes=parse_names(query, "probe", context.catalog.tasks),
        since=parse_time(query, "since"),
        until=parse_time(query, "until"),
        ok=parse_bool(query, "ok"),
        vantage=single(query, "vantage"),
    )
    limit = parse_int(query, "limit", 100, 1, 1000)
    cursor = single(query, "cursor")
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except ValueError as exc:
            raise ParamError("cursor", str(exc)) from None
    rows, following = await context.reads.run(results_page, where, limit, cursor)
    return web.json_response({"results": rows, "next_cursor": following})


async def _percentiles(request: web.Request) -> web.Response:
    context, query = _context(request), request.query
    check_known(query, ("model", "probe", "window"))
    models = parse_names(query, "model", context.catalog.models)
    probes = parse_names(query, "probe", context.catalog.tasks)
    window = parse_choice(query, "window", WINDOWS, "24h")
    until = datetime.now(UTC)
    since = until - WINDOWS[window]
    samples = await context.reads.run(
        latency_samples,
        LATENCY_FIELDS,
        since,
        until,
        models or list(context.catalog.models),
        probes or None,
    )
    rows = [
        {"model": model, "probe": probe, **_summaries(values)}
        for (model, probe), values in sorted(samples.items())
    ]
    return web.json_response(
        {
            "window": window,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "percentiles": rows,
        }
    )


def _summaries(values: dict[str, np.ndarray]) -> dict[str, Any]:
    summaries: dict[str, Any] = {}
    for name, array in values.items():
        summary: dict[str, Any] = {"count": int(array.size)}
        points = np.percentile(array, QUANTILES) if array.size else [None] * 4
        for q, point in zip(QUANTILES, points, strict=True):
            summary[f"p{q}"] = None if point is None else float(point)
        summaries[name] = summary
    return summaries


async def _uptime(request: web.Request) -> web.Response:
    context, query = _context(request), request.query
    check_known(query, ("window", "model"))
    window = parse_choice(query, "window", WINDOWS, "24h")
    models = parse_names(query, "model", context.catalog.models)
    figures = await context.reads.run(
        uptime, context.catalog, window, None, None, list(models) or None
    )
    rows = [
        {
            "model": model,
            "ratio": figure.ratio,
            "ok": figure.ok,
            "errors": figure.errors,
            "rate_limited": figure.rate_limited,
        }
        for model, figure in figures.items()
    ]
    return web.json_response({"window": window, "uptime": rows})


async def _report(request: web.Request) -> web.Response:
    context, query = _context(request), request.query
    check_known(query, ("window",))
    window = parse_choice(query, "window", WINDOWS, "7d")
    rows = await context.reads.run(ranking, context.catalog, window)
    return web.json_response(
        {"window": window, "ranking": [row.as_dict() for row in rows]}
    )


async def _rollups(request: web.Request) -> web.Response:
    context, query = _context(request), request.query
    check_known(query, ("model", "probe", "bucket", "since", "until", "limit"))
    models = parse_names(query, "model", context.catalog.models)
    probes = parse_names(query, "probe", context.catalog.tasks)
    bucket = parse_choice(query, "bucket", BUCKETS, "5m")
    until = parse_time(query, "until") or datetime.now(UTC)
    since = parse_time(query, "since") or until - timedelta(hours=24)
    limit = parse_int(query, "limit", 1000, 1, 10000)
    rows = await context.reads.run(
        rollup_rows, BUCKETS[bucket], since, until, models, probes, limit
    )
    return web.json_response({"bucket": bucket, "rollups": rows})


async def _answer(request: web.Request) -> web.Response:
    check_known(request.query, ())
    uid = request.match_info["uid"]
    if not _UID.match(uid):
        raise ParamError("uid", "expected 32 lower-case hex digits")
    found = await _context(request).reads.run(answer, uid)
    if found is None:
        return web.json_response({"error": "no answer stored for uid"}, status=404)
    return web.json_response(found)


async def _openapi(request: web.Request) -> web.Response:
    context = _context(request)
    document = openapi_document(
        list(context.catalog.models), list(context.catalog.tasks)
    )
    return web.json_response(document)
