"""Cost control: the estimated daily spend of a schedule, and a daily budget.

The estimate prices every job of the plan at catalog prices: runs per day
times tokens per run, where tokens per run are the averages observed in the
database when there are any, else the task's ``max_tokens``
and the prompt's length at four characters a token. A context sweep runs
many long requests: it is priced by
:func:`~prober.context.estimate_sweep_cost` (or the observed averages per
request times the ladder's length).

The budget counts what this prober spends per UTC day. When the day's spend
reaches the limit, every job but ``ping`` is paused until midnight UTC, so
uptime and latency keep being watched while the expensive coding probes
wait.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from prober.catalog import Catalog
from prober.context import PROBE as CONTEXT
from prober.context import estimate_sweep_cost
from prober.metrics import ProberMetrics
from prober.plan import Job

__all__ = ["DailyBudget", "SpendEstimate", "TokenAverages", "estimate_daily_spend"]

log = logging.getLogger(__name__)

_DAY_S = 86400.0
_CHARS_PER_TOKEN = 4.0

TokenAverages = Mapping[tuple[str, str], tuple[float | None, float | None]]
"""(model, probe) to the average (input, output) tokens seen per run."""


@dataclass(frozen=True, slots=True)
class SpendEstimate:
    total_usd: float
    by_model: dict[str, float]
    runs_per_day: float
    observed_share: float
    """Fraction of the runs priced from observed token counts."""


def estimate_daily_spend(
    plan: list[Job], catalog: Catalog, observed: TokenAverages
) -> SpendEstimate:
    by_model: dict[str, float] = {}
    runs = observed_runs = 0.0
    for job in plan:
        per_day = _DAY_S / job.interval_s
        for probe in job.probes:
            share = per_day / len(job.probes)
            cost, seen = _run_cost(catalog, job.model, probe, observed)
            by_model[job.model] = by_model.get(job.model, 0.0) + share * cost
            runs += share
            observed_runs += share if seen else 0.0
    return SpendEstimate(
        total_usd=sum(by_model.values()),
        by_model=by_model,
        runs_per_day=runs,
        observed_share=observed_runs / runs if runs else 0.0,
    )


def _run_cost(
    catalog: Catalog, model_id: str, probe: str, observed: TokenAverages
) -> tuple[float, bool]:
    seen_in, seen_out = observed.get((model_id, probe), (None, None))
    if probe == CONTEXT:
        return _sweep_cost(catalog, model_id, seen_in, seen_out)
    task = catalog.tasks[probe]
    input_tokens = seen_in or len(task.prompt) / _CHARS_PER_TOKEN
    output_tokens = seen_out or catalog.max_tokens(probe)
    model = catalog.models[model_id]
    output_price = model.price_per_mtok or 0.0
    cost = input_tokens * model.input_price_per_mtok + output_tokens * output_price
    return cost / 1e6, seen_out is not None


def _sweep_cost(
    catalog: Catalog, model_id: str, seen_in: float | None, seen_out: float | None
) -> tuple[float, bool]:
    """A context sweep is one run of many long requests: its ladder's
    expected tokens, or the observed averages per request times the
    ladder's length."""
    sweep = estimate_sweep_cost(catalog, model_id)
    if seen_out is None:
        return sweep.cost_usd or 0.0, False
    model = catalog.models[model_id]
    input_cost = sweep.requests * (seen_in or 0.0) * model.input_price_per_mtok
    output_cost = sweep.requests * seen_out * (model.price_per_mtok or 0.0)
    return (input_cost + output_cost) / 1e6, True


class DailyBudget:
    """What this prober spent today (UTC) against an optional limit."""

    def __init__(self, limit_usd: float | None, metrics: ProberMetrics) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = 0.0
        self.paused = False
        self._day = datetime.now(UTC).date()
        self._metrics = metrics
        # No limit reads as an infinite one: spent / limit stays 0.
        metrics.budget_limit.set(float("inf") if limit_usd is None else limit_usd)
        self._export()

    def restore(self, spent_usd: float, day: date) -> None:
        """Start from what the database says was spent earlier today."""
        if day == self._day:
            self.spent_usd = spent_usd
            self._check()
            self._export()

    def add(self, cost_usd: float | None, at: datetime) -> None:
        self._roll(at.date())
        if cost_usd:
            self.spent_usd += cost_usd
            self._check()
        self._export()

    def allows(self, job: Job, now: datetime | None = None) -> bool:
        """False for an expensive job while today's budget is spent."""
        self._roll((now or datetime.now(UTC)).date())
        return not (job.expensive and self.paused)

    def _roll(self, day: date) -> None:
        if day <= self._day:
            return
        self._day = day
        self.spent_usd = 0.0
        if self.paused:
            self.paused = False
            log.info("new UTC day: daily budget reset, expensive probes resume")
        self._export()

    def _check(self) -> None:
        if self.limit_usd is None or self.paused:
            return
        if self.spent_usd >= self.limit_usd:
            self.paused = True
            log.warning(
                "daily budget reached (%.4f of %.4f USD): pausing every probe "
                "but ping until midnight UTC",
                self.spent_usd,
                self.limit_usd,
            )

    def _export(self) -> None:
        self._metrics.budget_spent.set(self.spent_usd)
        self._metrics.budget_paused.set(1 if self.paused else 0)
