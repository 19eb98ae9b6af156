"""The service's HTTP face: ``/metrics``, ``/healthz``, ``/readyz``, the JSON
API under ``/api/v1`` and the status page at ``/``; with an API token, the
API and the page need it (:mod:`prober.exposure`).

The app runs on the same event loop as the probes, so anything costly in a
handler runs in a worker thread: rendering the metrics text in the loop's
default executor, SQL in the service's own pool (:mod:`prober.reads`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from prober.api import ApiContext, add_api_routes
from prober.exposure import require_token
from prober.metrics import ProberMetrics
from prober.statuspage import add_status_page

__all__ = ["Readiness", "create_app"]

METRICS_KEY = web.AppKey("metrics", ProberMetrics)


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, bool] = field(default_factory=dict)
    queue_rows: int = 0
    spill_file_rows: int = 0


ReadinessCheck = Callable[[], Readiness]
READINESS_KEY: web.AppKey[ReadinessCheck] = web.AppKey("readiness")


def create_app(
    metrics: ProberMetrics,
    readiness: Callable[[], Readiness] | None = None,
    api: ApiContext | None = None,
    api_token: str | None = None,
) -> web.Application:
    app = web.Application()
    if api_token is not None:
        app.middlewares.append(require_token(api_token))
    app[METRICS_KEY] = metrics
    app[READINESS_KEY] = readiness or (lambda: Readiness(ready=True))
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    if api is not None:
        add_api_routes(app, api)
        add_status_page(app, api)
    return app


async def _metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS_KEY].registry
    loop = asyncio.get_running_loop()
    body = await loop.run_in_executor(None, generate_latest, registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    """Alive: the process answers. Says nothing about the database."""
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    """Ready: started, and the database takes rows. 503 otherwise."""
    state = request.app[READINESS_KEY]()
    body = {
        "ready": state.ready,
        "checks": state.checks,
        "queue_rows": state.queue_rows,
        "spill_file_rows": state.spill_file_rows,
    }
    return web.json_response(body, status=200 if state.ready else 503)
