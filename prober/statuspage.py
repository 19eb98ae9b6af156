"""The status page at ``/``: one table row per model with its state, uptime
over each window, TTFT percentiles, error rate, last error and a small chart
of median TTFT over the last six hours.

Plain HTML with an inline SVG chart: readable without JavaScript, current
at every reload, and nothing fetched from elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

import numpy as np
from aiohttp import web

from prober.api import API_KEY, ApiContext, model_states
from prober.uptime import NOT_AVAILABILITY, WINDOWS, uptime
from storage.queries import ttft_series
from storage.stats import latency_samples, outcome_counts

__all__ = ["add_status_page", "render"]

_CHART_SPAN = timedelta(hours=6)
_CHART_BUCKET_S = 300
_CHART_W, _CHART_H = 180, 36
_DAY = timedelta(hours=24)

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d232a}
table{border-collapse:collapse;width:100%}
th,td{padding:.35rem .6rem;border-bottom:1px solid #dde1e6;text-align:left;
vertical-align:middle}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#0a7a33;font-weight:600}.down{color:#b3261e;font-weight:600}
.stale,.unknown{color:#7a5a00;font-weight:600}
.err{max-width:22rem;font-size:12px;color:#555}
svg polyline{fill:none;stroke:#2f6fb3;stroke-width:1.5}
"""


def add_status_page(app: web.Application, context: ApiContext) -> None:
    app.router.add_get("/", _page)


async def _page(request: web.Request) -> web.Response:
    context = request.app[API_KEY]
    now = datetime.now(UTC)
    figures = await _gather(context, now)
    return web.Response(text=render(context, figures, now), content_type="text/html")


async def _gather(context: ApiContext, now: datetime) -> dict[str, Any]:
    models = list(context.catalog.models)
    reads = context.reads
    uptimes = {
        window: await reads.run(uptime, context.catalog, window, now)
        for window in WINDOWS
    }
    # Like uptime, latency and error rate leave out the context sweep, whose
    # long prompts measure the prompt rather than the model's health.
    probes = [p for p in context.catalog.tasks if p not in NOT_AVAILABILITY]
    day = now - _DAY
    return {
        "states": await model_states(context, now),
        "uptime": uptimes,
        "ttft": await reads.run(latency_samples, ("ttft_s",), day, now, models, probes),
        "counts": await reads.run(
            outcome_counts, day, now, (), None, models, NOT_AVAILABILITY
        ),
        "series": await reads.run(
            ttft_series, models, now - _CHART_SPAN, _CHART_BUCKET_S, NOT_AVAILABILITY
        ),
    }


def render(context: ApiContext, figures: dict[str, Any], now: datetime) -> str:
    rows = "\n".join(_row(state, figures) for state in figures["states"])
    windows = "".join(f"<th>Uptime {w}</th>" for w in WINDOWS)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>prober status</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>{_STYLE}</style></head>
<body>
<h1>prober status</h1>
<p>{len(figures["states"])} models, as of {stamp}, seen from vantage
<b>{escape(context.vantage)}</b>. Uptime leaves out rate-limited probes and
maintenance windows; latency and error rate cover the last 24 hours.</p>
<table>
<thead><tr><th>Model</th><th>State</th>{windows}<th>TTFT p50</th>
<th>TTFT p95</th><th>Error rate</th><th>Last error</th>
<th>Median TTFT, last 6 h</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


def _row(state: dict[str, Any], figures: dict[str, Any]) -> str:
    model = state["id"]
    ttft = _ttft(figures["ttft"], model)
    cells = [
        f"<td><b>{escape(state['display_name'])}</b><br><small>"
        f"{escape(model)} · {escape(state['provider'])}</small></td>",
        f'<td class="{state["state"]}">{state["state"]}</td>',
        *(
            f'<td class="n">{_percent(figures["uptime"][w][model].ratio)}</td>'
            for w in WINDOWS
        ),
        f'<td class="n">{_ms(ttft[0])}</td>',
        f'<td class="n">{_ms(ttft[1])}</td>',
        f'<td class="n">{_error_rate(figures["counts"].get(model))}</td>',
        f'<td class="err">{_last_error(state["last_error"])}</td>',
        f"<td>{_chart(figures['series'].get(model, []))}</td>",
    ]
    return f'<tr id="model-{escape(model)}">' + "".join(cells) + "</tr>"


def _ttft(
    samples: dict[tuple[str, str], dict[str, np.ndarray]], model: str
) -> tuple[float | None, float | None]:
    parts = [s["ttft_s"] for (m, _), s in samples.items() if m == model]
    values = np.concatenate(parts) if parts else np.array([])
    if not values.size:
        return None, None
    p50, p95 = np.percentile(values, [50, 95])
    return float(p50), float(p95)


def _percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio * 100:.2f}%"


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.0f} ms"


def _error_rate(counts: Any) -> str:
    if counts is None or not counts.total:
        return "–"
    return _percent((counts.errors + counts.rate_limited) / counts.total)


def _last_error(last: dict[str, Any] | None) -> str:
    if last is None:
        return "none"
    when = last["started_at"][:19].replace("T", " ")
    message = escape(last["error_message"] or "")
    return f"<b>{escape(last['error_type'] or '')}</b> at {when} UTC<br>{message}"


def _chart(points: list[tuple[datetime, float]]) -> str:
    if len(points) < 2:
        return "<small>not enough data</small>"
    values = [value for _, value in points]
    top = max(values) or 1.0
    step = _CHART_W / (len(values) - 1)
    coordinates = " ".join(
        f"{i * step:.1f},{_CHART_H - 2 - value / top * (_CHART_H - 4):.1f}"
        for i, value in enumerate(values)
    )
    label = (
        f"Median TTFT per 5 minutes: latest {values[-1] * 1000:.0f} ms, "
        f"highest {top * 1000:.0f} ms"
    )
    return (
        f'<svg width="{_CHART_W}" height="{_CHART_H}" role="img" '
        f'aria-label="{label}"><title>{label}</title>'
        f'<polyline points="{coordinates}"/></svg>'
    )
