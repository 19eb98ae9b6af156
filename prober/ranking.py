"""The ranking: every model's measured quality, price, value, latency,
errors, uptime and spend over a window, in rank order.

Value is quality divided by price per million output tokens, as in the
reference report, so measured and reference figures sit side by side.
Models are ranked by measured value; those without a graded answer in the
window follow, by reference value. Latency percentiles are over successful
probes, with the error rate beside them. Output speed leaves out ``ping``,
whose few tokens say little about decoding speed, unless ping is all there
is.

:func:`ranking` returns plain rows; the HTTP API and ``prober report``
both format them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine

from prober.catalog import PING, Catalog
from prober.uptime import NOT_AVAILABILITY, span_of, uptime
from storage.stats import OutcomeCounts
from storage.tallies import Tally, window_tallies

__all__ = ["LATENCY_FIELDS", "RankingRow", "Tallies", "ranking", "ranking_tallies"]

LATENCY_FIELDS = ("ttft_s", "output_tokens_per_s")
"""The fields whose values the ranking gathers for its percentiles."""

Tallies = dict[tuple[str, str, str], Tally]
"""Per (model, probe, UTC day): one :class:`~storage.tallies.Tally`."""


@dataclass(frozen=True, slots=True)
class RankingRow:
    rank: int
    model: str
    display_name: str
    provider: str
    price_per_mtok: float | None
    quality: float | None
    graded: int
    value: float | None
    reference_quality: float | None
    reference_value: float | None
    reference_rank: int | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    output_tokens_per_s: float | None
    probes: int
    error_rate: float | None
    uptime: float | None
    spend_usd: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ranking_tallies(
    engine: Engine,
    catalog: Catalog,
    since: datetime,
    until: datetime,
    vantage: str | None = None,
) -> Tallies:
    """The one read of the window the ranking is built from; ``prober
    report`` builds its other sections from it too. Runs SQL: call it from
    a worker thread."""
    return window_tallies(
        engine,
        since,
        until,
        LATENCY_FIELDS,
        list(catalog.models),
        vantage,
        _latency_probes(catalog),
    )


def ranking(
    engine: Engine,
    catalog: Catalog,
    window: str | timedelta = "7d",
    now: datetime | None = None,
    vantage: str | None = None,
    tallies: Tallies | None = None,
) -> list[RankingRow]:
    """The ranking over ``window`` (a key of :data:`~prober.uptime.WINDOWS`,
    or any span), from ``tallies`` when the caller has read them
    (:func:`ranking_tallies`). Runs SQL: call it from a worker thread."""
    now = now or datetime.now(UTC)
    since = now - span_of(window)
    models = list(catalog.models)
    if tallies is None:
        tallies = ranking_tallies(engine, catalog, since, now, vantage)
    counts = _outcome_counts(tallies)
    quality = _quality_means(tallies)
    spend = _spend(tallies)
    up = uptime(engine, catalog, window, now, vantage, models, counted=counts)

    rows = []
    for model_id in models:
        ttft, speed = _latency(tallies, model_id, _latency_probes(catalog))
        model = catalog.models[model_id]
        mean, graded = quality.get(model_id, (None, 0))
        tally = counts.get(model_id)
        total = tally.total if tally else 0
        rows.append(
            RankingRow(
                rank=0,
                model=model_id,
                display_name=model.display_name,
                provider=model.provider,
                price_per_mtok=model.price_per_mtok,
                quality=mean,
                graded=graded,
                value=_value(mean, model.price_per_mtok),
                reference_quality=model.reference_quality,
                reference_value=model.reference_value,
                reference_rank=model.reference_rank,
                ttft_p50_s=_percentile(ttft, 50),
                ttft_p95_s=_percentile(ttft, 95),
                output_tokens_per_s=_percentile(speed, 50),
                probes=total,
                error_rate=(total - tally.ok) / total if tally and total else None,
                uptime=up[model_id].ratio,
                spend_usd=spend.get(model_id, 0.0),
            )
        )
    return _ranked(rows)


def _latency_probes(catalog: Catalog) -> list[str]:
    return [probe for probe in catalog.tasks if probe not in NOT_AVAILABILITY]


def _outcome_counts(tallies: Tallies) -> dict[str, OutcomeCounts]:
    """Per model with probes in the window: its outcomes,
    :data:`NOT_AVAILABILITY` left out."""
    counts: dict[str, OutcomeCounts] = {}
    for (model, probe, _), tally in tallies.items():
        if probe in NOT_AVAILABILITY:
            continue
        mine = counts.setdefault(model, OutcomeCounts())
        mine.ok += tally.counts.ok
        mine.errors += tally.counts.errors
        mine.rate_limited += tally.counts.rate_limited
    return {model: mine for model, mine in counts.items() if mine.total}


def _quality_means(tallies: Tallies) -> dict[str, tuple[float, int]]:
    """Per model with a graded answer: mean quality and how many grades."""
    sums: dict[str, tuple[float, int]] = {}
    for (model, _, _), tally in tallies.items():
        total, graded = sums.get(model, (0.0, 0))
        sums[model] = (total + tally.quality_sum, graded + tally.graded)
    return {model: (total / n, n) for model, (total, n) in sums.items() if n}


def _spend(tallies: Tallies) -> dict[str, float]:
    spend: dict[str, float] = {}
    for (model, _, _), tally in tallies.items():
        spend[model] = spend.get(model, 0.0) + (tally.cost_usd or 0.0)
    return spend


def _latency(
    tallies: Tallies, model_id: str, probes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """TTFT over every latency probe; speed over the coding ones that
    answered, or over ping when it alone did."""
    ttft: list[np.ndarray] = []
    speed: dict[str, list[np.ndarray]] = {}
    for (model, probe, _), tally in tallies.items():
        if model != model_id or probe not in probes or not tally.counts.ok:
            continue
        ttft.append(tally.latency["ttft_s"])
        speed.setdefault(probe, []).append(tally.latency["output_tokens_per_s"])
    coding = [part for p, parts in speed.items() if p != PING for part in parts]
    everything = [part for parts in speed.values() for part in parts]
    return _joined(ttft), _joined(coding or everything)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.array([], dtype=float)


def _percentile(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if values.size else None


def _value(quality: float | None, price: float | None) -> float | None:
    if quality is None or not price:
        return None
    return quality / price


def _ranked(rows: list[RankingRow]) -> list[RankingRow]:
    def order(row: RankingRow) -> tuple[int, float]:
        if row.value is not None:
            return (0, -row.value)
        return (1, -(row.reference_value or 0.0))

    ordered = sorted(rows, key=order)
    return [_with_rank(row, rank) for rank, row in enumerate(ordered, 1)]


def _with_rank(row: RankingRow, rank: int) -> RankingRow:
    values = row.as_dict()
    values["rank"] = rank
    return RankingRow(**values)
