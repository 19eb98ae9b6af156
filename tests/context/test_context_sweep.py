"""Whole sweeps of the default ladder against the simulator: the derived
figures match each model's profile, and the gauges show them."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry

from prober.catalog import build_catalog
from prober.client import StreamingClient
from prober.config import DEFAULT_LADDER, load_config
from prober.context import ContextMetrics, ContextSweeper, SweepResult
from prober.runner import Runner
from tests.context.conftest import PREFILL, FastSimulator
from tests.replay import Script, replay_server

pytestmark = pytest.mark.timeout(180)

# deepseek-coder and qwen3-32b advertise 128K and stop retrieving past 32K;
# hunyuan-turbo has a 32K window; kimi-k2.5 reads past the ladder's top;
# deepseek-r1 reasons before it answers.
MODELS = [
    "deepseek-coder", "qwen3-32b", "hunyuan-turbo", "deepseek-v4-flash", "glm-5",
    "kimi-k2.5", "deepseek-r1",
]  # fmt: skip


def expected_effective(profile: dict[str, int]) -> tuple[int, bool]:
    """The longest ladder length the model both accepts and reads."""
    fits = [n for n in DEFAULT_LADDER if n <= profile["context_window"]]
    read = [n for n in fits if n <= profile["effective_context"]]
    return read[-1], read[-1] == fits[-1]


async def sweep_all(simulator: FastSimulator) -> list[SweepResult]:
    catalog = build_catalog(load_config()).with_base_url("simulator", simulator.url)
    async with StreamingClient() as client:
        sweeper = ContextSweeper(Runner(catalog, client, "test"), "test")
        return list(await asyncio.gather(*(sweeper.sweep(m) for m in MODELS)))


@pytest.fixture(scope="module")
def sweeps(fast_simulator: FastSimulator) -> dict[str, SweepResult]:
    results = asyncio.run(sweep_all(fast_simulator))
    return {result.model: result for result in results}


def test_every_request_is_a_record_of_the_ladder(
    sweeps: dict[str, SweepResult],
) -> None:
    coder = sweeps["deepseek-coder"]

    assert len(coder.runs) == 18
    for run in coder.runs:
        record = run.record
        assert record["ok"], record
        assert record["probe"] == "context"
        assert record["context_tokens"] == record["input_tokens"]
        assert record["tokens_source"] == "usage"
        assert record["needle_depth"] in (0.1, 0.5, 0.9)
        assert isinstance(record["needle_found"], bool)
        assert record["ttft_s"] > 0
    assert len(sweeps["hunyuan-turbo"].runs) == 12


def test_prompts_land_just_under_their_lengths(sweeps: dict[str, SweepResult]) -> None:
    for sweep in sweeps.values():
        for cell in sweep.figures.cells:
            assert cell.context_tokens is not None
            if cell.length > 1024:  # sized after the estimate was calibrated
                assert 0.9 * cell.length < cell.context_tokens <= cell.length


@pytest.mark.parametrize("model", MODELS)
def test_the_effective_context_is_the_profiles(
    sweeps: dict[str, SweepResult], fast_simulator: FastSimulator, model: str
) -> None:
    figures = sweeps[model].figures
    length, at_top = expected_effective(fast_simulator.profiles[model])

    assert figures.baseline_accuracy == 1.0
    assert (figures.effective_length, figures.effective_at_top) == (length, at_top)
    for row in figures.lengths:
        assert row.accuracy == (1.0 if row.length <= length else 0.0)


@pytest.mark.parametrize("model", MODELS)
def test_the_prefill_rate_is_the_profiles(
    sweeps: dict[str, SweepResult], model: str
) -> None:
    fit = sweeps[model].figures.fit

    assert fit is not None and fit.tokens_per_s is not None
    # The simulator's own reading and counting of a long prompt adds a little
    # time per token, so the measured rate sits at or a little under.
    assert fit.tokens_per_s == pytest.approx(PREFILL[model], rel=0.15)
    assert fit.intercept_s == pytest.approx(0.05, abs=0.05)


def test_the_gauges_show_the_latest_sweep(sweeps: dict[str, SweepResult]) -> None:
    registry = CollectorRegistry()
    metrics = ContextMetrics(registry)
    for sweep in sweeps.values():
        metrics.observe(sweep)

    def value(name: str, model: str, **labels: str) -> float | None:
        labels = {"model": model, "provider": "simulator", "vantage": "test", **labels}
        return registry.get_sample_value(name, labels)

    assert value("prober_context_effective_tokens", "deepseek-coder") == 32768
    assert value("prober_context_effective_tokens", "kimi-k2.5") == 131072
    rate = value("prober_context_prefill_tokens_per_second", "glm-5")
    assert rate == sweeps["glm-5"].figures.fit.tokens_per_s  # type: ignore[union-attr]
    assert value("prober_context_accuracy_ratio", "qwen3-32b", length="64k") == 0.0
    assert value("prober_context_accuracy_ratio", "qwen3-32b", length="32k") == 1.0
    ttft = value("prober_context_ttft_seconds", "glm-5", length="128k")
    assert ttft is not None and ttft > 1.0
    assert value("prober_context_ttft_seconds", "hunyuan-turbo", length="64k") is None


async def test_a_sweep_stops_after_three_failures_in_a_row() -> None:
    outage = Script(
        [b'{"error": {"message": "upstream unavailable"}}'],
        status=503,
        content_type="application/json",
    )
    async with replay_server(outage) as server:
        catalog = build_catalog(load_config()).with_base_url(
            "simulator", server.base_url
        )
        async with StreamingClient() as client:
            sweeper = ContextSweeper(Runner(catalog, client, "test"), "test")
            result = await sweeper.sweep("deepseek-coder")

    # Three of the eighteen requests, none of the long ones, and no figures.
    assert len(server.requests) == 3
    assert [run.record["error_type"] for run in result.runs] == ["http_5xx"] * 3
    assert result.figures.effective_length is None
    assert result.figures.inconclusive


async def test_an_inconclusive_sweep_leaves_the_last_effective_context_shown(
    sweeps: dict[str, SweepResult],
) -> None:
    outage = Script(
        [b'{"error": {"message": "upstream unavailable"}}'],
        status=503,
        content_type="application/json",
    )
    async with replay_server(outage) as server:
        catalog = build_catalog(load_config()).with_base_url(
            "simulator", server.base_url
        )
        async with StreamingClient() as client:
            sweeper = ContextSweeper(Runner(catalog, client, "test"), "test")
            failed = await sweeper.sweep("deepseek-coder")
    registry = CollectorRegistry()
    metrics = ContextMetrics(registry)
    labels = {"model": "deepseek-coder", "provider": "simulator", "vantage": "test"}

    metrics.observe(sweeps["deepseek-coder"])
    metrics.observe(failed)

    assert registry.get_sample_value("prober_context_effective_tokens", labels) == (
        32768
    )


def test_errors_that_cut_the_climb_never_lower_the_effective_context_shown(
    sweeps: dict[str, SweepResult],
) -> None:
    full = sweeps["deepseek-coder"]
    assert full.figures.effective_length == 32768

    def swept(effective: int, cut: bool) -> SweepResult:
        figures = replace(
            full.figures, effective_length=effective, effective_cut_by_errors=cut
        )
        return replace(full, figures=figures)

    labels = {"model": "deepseek-coder", "provider": "simulator", "vantage": "test"}
    registry = CollectorRegistry()
    metrics = ContextMetrics(registry)

    def shown() -> float | None:
        return registry.get_sample_value("prober_context_effective_tokens", labels)

    metrics.observe(swept(4096, cut=True))  # nothing shown yet: the bound shows
    assert shown() == 4096
    metrics.observe(full)
    metrics.observe(swept(4096, cut=True))  # 16K all errors: still 32K shown
    assert shown() == 32768
    metrics.observe(swept(16384, cut=False))  # 32K answered wrong: it drops
    assert shown() == 16384
