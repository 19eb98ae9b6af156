"""The schedule plan: ping every minute, a coding rotation every ten
minutes, the context sweep daily, overrides, and shards."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prober.catalog import build_catalog, parse_shard
from prober.config import ProbeConfig, load_config
from prober.exceptions import ConfigError
from prober.plan import build_plan
from tests.catalogs import catalog_with_tasks

CODING = ("flatten", "race-condition", "dijkstra", "code-review", "express-endpoint")


def _jobs(plan: list, model: str) -> dict:
    return {job.name: job for job in plan if job.model == model}


def test_default_schedule_is_ping_each_minute_and_a_coding_rotation() -> None:
    plan = build_plan(catalog_with_tasks(*CODING))
    assert len(plan) == 20
    jobs = _jobs(plan, "glm-5")
    assert set(jobs) == {"ping", "coding"}
    assert jobs["ping"].interval_s == 60 and not jobs["ping"].expensive
    assert jobs["coding"].interval_s == 600 and jobs["coding"].expensive
    assert sorted(jobs["coding"].probes) == sorted(CODING)
    assert jobs["ping"].timeout_s == 300 + 30  # total timeout plus the margin


def test_the_rotation_visits_every_task_in_turn() -> None:
    plan = build_plan(catalog_with_tasks(*CODING))
    for job in plan:
        if job.name == "coding":
            taken = [job.next_probe() for _ in range(10)]
            assert sorted(taken) == sorted(CODING * 2)
    # Each model starts where its id hashes, so a pass spreads over tasks.
    firsts = {job.next_probe() for job in build_plan(catalog_with_tasks(*CODING))}
    assert len(firsts - {"ping"}) > 1


def test_the_shipped_tasks_rotate_without_ping() -> None:
    catalog = build_catalog(load_config())
    coding = _jobs(build_plan(catalog), "glm-5")["coding"]
    assert "ping" not in coding.probes and "flatten" in coding.probes


def test_context_runs_daily_and_own_intervals_leave_the_rotation() -> None:
    catalog = catalog_with_tasks(
        *CODING, "context", dijkstra=ProbeConfig(interval_s=120)
    )
    jobs = _jobs(build_plan(catalog), "glm-5")
    assert jobs["context"].interval_s == 86400
    assert jobs["dijkstra"].interval_s == 120 and jobs["dijkstra"].expensive
    assert "dijkstra" not in jobs["coding"].probes
    assert "context" not in jobs["coding"].probes


def test_per_model_intervals_override() -> None:
    catalog = catalog_with_tasks(*CODING)
    catalog = replace(
        catalog, model_intervals={"glm-5": {"ping": 15.0, "coding": 300.0}}
    )
    jobs = _jobs(build_plan(catalog), "glm-5")
    assert (jobs["ping"].interval_s, jobs["coding"].interval_s) == (15, 300)
    assert _jobs(build_plan(catalog), "qwen3-32b")["ping"].interval_s == 60


def test_disabled_probe_is_not_scheduled() -> None:
    catalog = catalog_with_tasks("flatten", ping=ProbeConfig(enabled=False))
    assert {job.name for job in build_plan(catalog)} == {"coding"}


def test_shards_split_the_catalog_without_overlap() -> None:
    catalog = build_catalog(load_config())
    shards = [set(catalog.shard(f"{k}/3").models) for k in (1, 2, 3)]
    assert set().union(*shards) == set(catalog.models)
    assert sum(len(s) for s in shards) == len(catalog.models)
    assert shards == [set(catalog.shard(f"{k}/3").models) for k in (1, 2, 3)]
    assert set(catalog.shard("1/1").models) == set(catalog.models)


@pytest.mark.parametrize("spec", ["0/3", "4/3", "x", "1/0", "1-3"])
def test_bad_shards_are_refused(spec: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(spec)
