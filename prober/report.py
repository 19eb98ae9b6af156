"""`prober report`: the ranking of the models, the way the seed report
ranked them (quality, price, value) with what prober measures beside it.

Sections: the ranking; graded quality per model and task; spend per model
and UTC day. All figures come from one SQL read of the window
(:func:`prober.ranking.ranking_tallies`); call from a thread or a command,
never from the event loop that times requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from prober.catalog import Catalog
from prober.ranking import Tallies, ranking, ranking_tallies
from prober.tabular import Column, Section

__all__ = ["ranking_sections"]


def _fixed(digits: int) -> Callable[[Any], str]:
    return lambda value: f"{value:.{digits}f}"


def _ms(value: float) -> str:
    return f"{value * 1000:.0f}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f}"


RANKING_COLUMNS = (
    Column("rank", "rank"),
    Column("model", "model", numeric=False),
    Column("quality", "quality", _fixed(2)),
    Column("price_per_mtok", "price $/M", _fixed(2)),
    Column("value", "value", _fixed(1)),
    Column("reference_quality", "ref quality", _fixed(1)),
    Column("reference_value", "ref value", _fixed(1)),
    Column("reference_rank", "ref rank"),
    Column("ttft_p50_s", "TTFT p50 ms", _ms),
    Column("ttft_p95_s", "TTFT p95 ms", _ms),
    Column("output_tokens_per_s", "tok/s", _fixed(0)),
    Column("error_rate", "errors %", _percent),
    Column("uptime", "uptime %", _percent),
    Column("spend_usd", "spend $", _fixed(4)),
)


def ranking_sections(
    engine: Engine, catalog: Catalog, since: datetime, now: datetime | None = None
) -> list[Section]:
    """The report's sections from ``since`` to now, from one read of the
    window."""
    now = now or datetime.now(UTC)
    tallies = ranking_tallies(engine, catalog, since, now)
    ranked = ranking(engine, catalog, now - since, now, tallies=tallies)
    title = f"Ranking since {since:%Y-%m-%d %H:%M} UTC"
    return [
        Section("ranking", title, RANKING_COLUMNS, [asdict(row) for row in ranked]),
        _quality_by_task(catalog, tallies),
        _spend_by_day(catalog, tallies),
    ]


def _quality_by_task(catalog: Catalog, tallies: Tallies) -> Section:
    sums: dict[tuple[str, str], tuple[float, int]] = {}
    for (model, task, _), tally in tallies.items():
        total, graded = sums.get((model, task), (0.0, 0))
        sums[model, task] = (total + tally.quality_sum, graded + tally.graded)
    means = {key: total / n for key, (total, n) in sums.items() if n}
    tasks = sorted({task for _, task in means})
    columns = [Column("model", "model", numeric=False)]
    columns += [Column(task, task, _fixed(2)) for task in tasks]
    rows = []
    for model in catalog.models:
        row: dict[str, object] = {"model": model}
        for task in tasks:
            mean = means.get((model, task))
            row[task] = None if mean is None else round(mean, 3)
        rows.append(row)
    return Section("quality_by_task", "Graded quality by task", columns, rows)


def _spend_by_day(catalog: Catalog, tallies: Tallies) -> Section:
    spend: dict[tuple[str, str], float] = {}
    for (model, _, day), tally in tallies.items():
        if tally.cost_usd is not None:
            spend[model, day] = spend.get((model, day), 0.0) + tally.cost_usd
    days = sorted({day for _, day in spend})
    columns = [Column("model", "model", numeric=False)]
    columns += [Column(day, day, _fixed(4)) for day in days]
    rows = []
    for model in catalog.models:
        row: dict[str, object] = {"model": model}
        for day in days:
            row[day] = spend.get((model, day))
        rows.append(row)
    return Section("spend_by_day", "Probe spend per UTC day (USD)", columns, rows)
