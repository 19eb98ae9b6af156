"""Uptime as users expect it: successes over successes plus failures.

* windows: 1 hour, 24 hours, 7 days and 30 days, ending now;
* a rate-limited probe (HTTP 429) is counted apart, in neither the numerator
  nor the denominator: the model was up and said "not now";
* probes inside a maintenance window from the configuration are left out;
* every probe counts, not only ``ping``: a coding probe that times out is as
  much an outage to its user as a failed ping; the context sweep is the
  exception (:data:`NOT_AVAILABILITY`).

Counts come from the raw rows while they are kept, and from the hourly
rollups for the part of a window older than the raw retention. No probes in
a window gives no ratio (``None``), never 100%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from prober.catalog import CONTEXT, Catalog
from storage.stats import (
    Exclusion,
    OutcomeCounts,
    outcome_counts,
    rollup_outcome_counts,
)

__all__ = ["NOT_AVAILABILITY", "WINDOWS", "Uptime", "exclusions", "span_of", "uptime"]

# Probes whose failures say nothing about whether a model is up: a context
# sweep's 128K-token prompt timing out measures the long prompt. The sweep
# reports its own errors; uptime, error rates, state and latency leave it out.
NOT_AVAILABILITY: tuple[str, ...] = (CONTEXT,)

WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


@dataclass(frozen=True, slots=True)
class Uptime:
    window: str
    ratio: float | None
    ok: int
    errors: int
    rate_limited: int


def exclusions(catalog: Catalog) -> list[Exclusion]:
    """The configured maintenance windows, as storage takes them."""
    return [(w.start, w.end, tuple(w.models)) for w in catalog.maintenance]


def uptime(
    engine: Engine,
    catalog: Catalog,
    window: str | timedelta,
    now: datetime | None = None,
    vantage: str | None = None,
    models: Sequence[str] | None = None,
    counted: Mapping[str, OutcomeCounts] | None = None,
) -> dict[str, Uptime]:
    """Per model of ``models`` (default: the catalog's), the uptime over
    ``window`` (a key of :data:`WINDOWS` or any span). ``counted``: the
    window's outcome counts from the raw rows, :data:`NOT_AVAILABILITY`
    left out, when the caller has them; they stand when the raw rows cover
    the window and no maintenance window touches it. Runs SQL: call it from
    a worker thread."""
    now = now or datetime.now(UTC)
    models = list(models if models is not None else catalog.models)
    since = now - span_of(window)
    window = window if isinstance(window, str) else f"{window.total_seconds():g}s"
    raw_from = max(since, _raw_start(catalog, now))
    skip = exclusions(catalog)
    if counted is not None and raw_from == since and not _touching(skip, since, now):
        return {model: _figure(window, counted.get(model)) for model in models}
    counts = outcome_counts(
        engine, raw_from, now, skip, vantage, models, NOT_AVAILABILITY
    )
    if since < raw_from:
        older = rollup_outcome_counts(
            engine, since, raw_from, skip, vantage, models, NOT_AVAILABILITY
        )
        counts = _merge(counts, older)
    return {model: _figure(window, counts.get(model)) for model in models}


def span_of(window: str | timedelta) -> timedelta:
    """The length of ``window``: a key of :data:`WINDOWS` or a span."""
    return WINDOWS[window] if isinstance(window, str) else window


def _raw_start(catalog: Catalog, now: datetime) -> datetime:
    """Where raw rows begin, rounded down to a rollup hour."""
    start = now - timedelta(days=catalog.retention.raw_days)
    return start.replace(minute=0, second=0, microsecond=0)


def _touching(skip: Sequence[Exclusion], since: datetime, until: datetime) -> bool:
    return any(start < until and end > since for start, end, _ in skip)


def _merge(
    newer: dict[str, OutcomeCounts], older: dict[str, OutcomeCounts]
) -> dict[str, OutcomeCounts]:
    merged = dict(newer)
    for model, counts in older.items():
        mine = merged.setdefault(model, OutcomeCounts())
        merged[model] = OutcomeCounts(
            mine.ok + counts.ok,
            mine.errors + counts.errors,
            mine.rate_limited + counts.rate_limited,
        )
    return merged


def _figure(window: str, counts: OutcomeCounts | None) -> Uptime:
    counts = counts or OutcomeCounts()
    counted = counts.ok + counts.errors
    ratio = counts.ok / counted if counted else None
    return Uptime(window, ratio, counts.ok, counts.errors, counts.rate_limited)
