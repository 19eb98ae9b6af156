"""The service's HTTP face: ``/metrics`` for Prometheus and ``/healthz``.

The app runs on the same event loop as the probes, so anything costly in a
handler (rendering the metrics text) runs in a worker thread.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from prober.metrics import ProberMetrics

__all__ = ["create_app"]

METRICS_KEY = web.AppKey("metrics", ProberMetrics)


def create_app(metrics: ProberMetrics) -> web.Application:
    app = web.Application()
    app[METRICS_KEY] = metrics
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    return app


async def _metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS_KEY].registry
    loop = asyncio.get_running_loop()
    body = await loop.run_in_executor(None, generate_latest, registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
