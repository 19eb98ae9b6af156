"""The window read in one pass, on both databases: each (model, probe, UTC
day) gets the counts, spend, quality and latency values the per-figure
queries give."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from storage import make_engine
from storage.stats import latency_samples, outcome_counts
from storage.tallies import window_tallies
from tests.storage.rows import BASE, fill, result_row

_HOUR = 3600.0
_DAY = BASE.strftime("%Y-%m-%d")
_NEXT_DAY = (BASE + timedelta(days=1)).strftime("%Y-%m-%d")


def _rows() -> list[dict[str, Any]]:
    return [
        result_row(0, ttft_s=0.1, cost_usd=0.001),
        result_row(60, ttft_s=0.30000000000000004, cost_usd=0.002),
        result_row(120, ok=False, error_type="rate_limited", ttft_s=None),
        result_row(180, ok=False, error_type="http_5xx", ttft_s=None),
        result_row(30 * _HOUR, ttft_s=0.2, cost_usd=0.004),
        result_row(40, probe="flatten", quality=8.0, cost_usd=0.01),
        result_row(50, probe="flatten", quality=6.0, vantage="elsewhere"),
        result_row(70, probe="context", ttft_s=9.0),
        result_row(90, model="kimi-k2.5", probe="retired-task", ttft_s=0.5),
        result_row(-_HOUR, ttft_s=7.0),  # before the window
    ]


def test_tallies_per_model_probe_and_day(database_url: str, tmp_path: Path) -> None:
    fill(database_url, tmp_path, _rows())
    engine = make_engine(database_url)
    until = BASE + timedelta(days=2)
    tallies = window_tallies(engine, BASE, until, ("ttft_s",), None, "local")
    engine.dispose()

    assert set(tallies) == {
        ("glm-5", "ping", _DAY),
        ("glm-5", "ping", _NEXT_DAY),
        ("glm-5", "flatten", _DAY),
        ("glm-5", "context", _DAY),
        ("kimi-k2.5", "retired-task", _DAY),
    }
    ping = tallies["glm-5", "ping", _DAY]
    assert (ping.counts.ok, ping.counts.errors, ping.counts.rate_limited) == (2, 1, 1)
    assert ping.cost_usd == 0.003
    # Every digit survives the trip, on both databases.
    assert sorted(ping.latency["ttft_s"]) == [0.1, 0.30000000000000004]
    assert tallies["glm-5", "ping", _NEXT_DAY].cost_usd == 0.004
    flatten = tallies["glm-5", "flatten", _DAY]
    # Quality over every vantage; counts and spend over the one asked.
    assert (flatten.quality_sum, flatten.graded) == (14.0, 2)
    assert flatten.counts.total == 1 and flatten.cost_usd == 0.01
    assert tallies["glm-5", "context", _DAY].cost_usd is None


def test_tallies_agree_with_the_per_figure_queries(
    database_url: str, tmp_path: Path
) -> None:
    fill(database_url, tmp_path, _rows())
    engine = make_engine(database_url)
    until = BASE + timedelta(days=2)
    probes = ["ping", "flatten"]
    tallies = window_tallies(engine, BASE, until, ("ttft_s",), ["glm-5"], None, probes)
    samples = latency_samples(engine, ("ttft_s",), BASE, until, ["glm-5"], probes)
    counts = outcome_counts(engine, BASE, until, models=["glm-5"])
    engine.dispose()

    assert {model for model, _, _ in tallies} == {"glm-5"}
    for (model, probe), values in samples.items():
        gathered = [
            tally.latency["ttft_s"]
            for (m, p, _), tally in tallies.items()
            if (m, p) == (model, probe)
        ]
        assert sorted(np.concatenate(gathered)) == sorted(values["ttft_s"])
    assert not tallies["glm-5", "context", _DAY].latency["ttft_s"].size
    assert sum(t.counts.total for t in tallies.values()) == counts["glm-5"].total
    assert sum(t.counts.ok for t in tallies.values()) == counts["glm-5"].ok


def test_a_window_inside_one_day(database_url: str, tmp_path: Path) -> None:
    fill(database_url, tmp_path, _rows())
    engine = make_engine(database_url)
    since = BASE + timedelta(seconds=30)
    tallies = window_tallies(engine, since, since + timedelta(seconds=40), ())
    empty = window_tallies(
        engine, BASE - timedelta(days=9), BASE - timedelta(days=8), ()
    )
    engine.dispose()

    assert set(tallies) == {("glm-5", "ping", _DAY), ("glm-5", "flatten", _DAY)}
    assert tallies["glm-5", "ping", _DAY].counts.total == 1
    assert empty == {}
