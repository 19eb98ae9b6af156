"""The spend estimate of a schedule and the daily budget."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from prober.budget import DailyBudget, estimate_daily_spend
from prober.catalog import build_catalog
from prober.config import ProbeConfig, load_config
from prober.context import PROBE as CONTEXT
from prober.context import estimate_sweep_cost
from prober.metrics import ProberMetrics
from prober.plan import build_plan
from tests.catalogs import catalog_with_tasks


def test_estimate_prices_runs_per_day_at_max_tokens_or_observed_averages() -> None:
    catalog = catalog_with_tasks(
        "flatten", ping=ProbeConfig(interval_s=60, max_tokens=16)
    )
    plan = [job for job in build_plan(catalog) if job.model == "glm-5"]

    estimate = estimate_daily_spend(plan, catalog, {})
    price = 1.92 / 1e6  # glm-5, output tokens only in the seed catalog
    expected = 1440 * 16 * price + 144 * 100 * price
    assert estimate.total_usd == pytest.approx(expected)
    assert estimate.runs_per_day == pytest.approx(1440 + 144)
    assert estimate.observed_share == 0

    observed = {("glm-5", "flatten"): (50.0, 40.0)}
    estimate = estimate_daily_spend(plan, catalog, observed)
    assert estimate.total_usd == pytest.approx(1440 * 16 * price + 144 * 40 * price)
    assert estimate.observed_share == pytest.approx(144 / 1584)


def test_budget_pauses_all_but_ping_until_the_next_utc_day(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = ProberMetrics()
    plan = build_plan(catalog_with_tasks("flatten"))
    ping = next(job for job in plan if job.name == "ping")
    coding = next(job for job in plan if job.name == "coding")
    now = datetime.now(UTC)
    budget = DailyBudget(0.01, metrics)
    value = metrics.registry.get_sample_value

    budget.add(0.004, now)
    assert budget.allows(coding, now)
    with caplog.at_level(logging.WARNING, logger="prober.budget"):
        budget.add(0.007, now)
    assert "daily budget reached" in caplog.text
    assert not budget.allows(coding, now) and budget.allows(ping, now)
    assert value("prober_budget_paused") == 1
    assert value("prober_budget_spent_usd") == pytest.approx(0.011)
    assert value("prober_budget_limit_usd") == 0.01

    tomorrow = now + timedelta(days=1)
    assert budget.allows(coding, tomorrow)
    assert value("prober_budget_paused") == 0
    assert value("prober_budget_spent_usd") == 0


def test_no_budget_never_pauses() -> None:
    metrics = ProberMetrics()
    budget = DailyBudget(None, metrics)
    coding = next(j for j in build_plan(catalog_with_tasks("flatten")) if j.expensive)
    budget.add(1e6, datetime.now(UTC))
    assert budget.allows(coding)
    assert metrics.registry.get_sample_value("prober_budget_limit_usd") == float("inf")


def test_a_context_sweep_is_priced_as_its_whole_ladder() -> None:
    catalog = build_catalog(load_config())
    plan = [
        job for job in build_plan(catalog)
        if job.model == "glm-5" and job.probes == (CONTEXT,)
    ]  # fmt: skip
    (job,) = plan
    sweeps_per_day = 86400 / job.interval_s
    sweep = estimate_sweep_cost(catalog, "glm-5")
    assert sweep.requests > 10  # the ladder of lengths times the depths

    estimate = estimate_daily_spend(plan, catalog, {})
    assert estimate.total_usd == pytest.approx(sweeps_per_day * sweep.cost_usd)
    assert estimate.runs_per_day == pytest.approx(sweeps_per_day)

    observed = {("glm-5", CONTEXT): (60_000.0, 12.0)}  # averages per request
    estimate = estimate_daily_spend(plan, catalog, observed)
    per_sweep = sweep.requests * 12.0 * 1.92 / 1e6  # output tokens priced only
    assert estimate.total_usd == pytest.approx(sweeps_per_day * per_sweep)
    assert estimate.observed_share == 1
