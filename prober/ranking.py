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
from storage.stats import latency_samples, outcome_counts, quality_means, spend_since

__all__ = ["RankingRow", "ranking"]


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


def ranking(
    engine: Engine,
    catalog: Catalog,
    window: str | timedelta = "7d",
    now: datetime | None = None,
    vantage: str | None = None,
) -> list[RankingRow]:
    """The ranking over ``window`` (a key of :data:`~prober.uptime.WINDOWS`,
    or any span).
    Runs SQL: call it from a worker thread."""
    now = now or datetime.now(UTC)
    since = now - span_of(window)
    models = list(catalog.models)
    probes = [p for p in catalog.tasks if p not in NOT_AVAILABILITY]
    samples = latency_samples(
        engine, ("ttft_s", "output_tokens_per_s"), since, now, models, probes, vantage
    )
    counts = outcome_counts(engine, since, now, (), vantage, models, NOT_AVAILABILITY)
    quality = quality_means(engine, since, now, models)
    spend = spend_since(engine, since, vantage, models)
    up = uptime(engine, catalog, window, now, vantage, models)

    rows = []
    for model_id in models:
        ttft, speed = _latency(samples, model_id)
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


def _latency(
    samples: dict[tuple[str, str], dict[str, np.ndarray]], model_id: str
) -> tuple[np.ndarray, np.ndarray]:
    mine = {probe: s for (model, probe), s in samples.items() if model == model_id}
    ttft = [s["ttft_s"] for s in mine.values()]
    coding = [s["output_tokens_per_s"] for p, s in mine.items() if p != PING]
    speed = coding or [s["output_tokens_per_s"] for s in mine.values()]
    return _joined(ttft), _joined(speed)


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
