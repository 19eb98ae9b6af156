"""The ladder as configured and as capped per model, the token estimate,
the cost shown before a sweep, and [probes.context] checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from prober.catalog import build_catalog
from prober.config import ContextProbeConfig, load_config
from prober.context import estimate_sweep_cost, length_label, sweep_plan
from prober.context.plan import TokenEstimate, plan_sweep
from prober.exceptions import ConfigError

pytestmark = pytest.mark.timeout(10)


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prober.toml"
    path.write_text(text)
    return path


def test_the_default_ladder_on_a_128k_model() -> None:
    catalog = build_catalog(load_config())

    rungs = sweep_plan(catalog, "deepseek-coder")

    assert [r.label for r in rungs[::3]] == ["1k", "4k", "16k", "32k", "64k", "128k"]
    assert [r.depth for r in rungs[:3]] == [0.1, 0.5, 0.9]
    for rung in rungs:
        assert rung.target_tokens <= rung.length * 0.95
    # The top length is the window itself: the prompt leaves room for the answer.
    assert rungs[-1].target_tokens + 64 <= 131072


def test_the_ladder_is_capped_by_the_context_window() -> None:
    catalog = build_catalog(load_config())

    labels = {r.label for r in sweep_plan(catalog, "hunyuan-turbo")}
    wide = {r.label for r in sweep_plan(catalog, "kimi-k2.5")}

    assert labels == {"1k", "4k", "16k", "32k"}
    assert wide == {"1k", "4k", "16k", "32k", "64k", "128k"}


def test_lengths_are_named_by_their_bucket() -> None:
    assert [length_label(n) for n in (1024, 131072, 3000)] == ["1k", "128k", "3000"]


def test_a_configured_ladder_and_depths(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "[probes.context]\nladder = [512, 2048]\ndepths = [0.25, 0.75]\n"
        "headroom = 0.1\nseed = 5\n",
    )
    catalog = build_catalog(load_config(path))

    rungs = sweep_plan(catalog, "glm-5")

    assert [(r.length, r.depth, r.target_tokens) for r in rungs] == [
        (512, 0.25, 460), (512, 0.75, 460), (2048, 0.25, 1843), (2048, 0.75, 1843),
    ]  # fmt: skip
    assert catalog.interval("glm-5", "context") == 86400  # the schedule's, kept


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("ladder = [4096, 1024]", "probes.context.ladder", "ascending"),
        ("ladder = [100]", "probes.context.ladder", "between 256"),
        ("ladder = []", "probes.context.ladder", "at least 1"),
        ("depths = [0.5, 1.5]", "probes.context.depths", "between 0 and 1"),
        ("keep_ratio = 0", "probes.context.keep_ratio", "greater than 0"),
        ("headroom = 0.6", "probes.context.headroom", "less than 0.5"),
        ("needles = 3", "probes.context.needles", "unknown key"),
        ("interval_s = -1", "probes.context.interval_s", "greater than 0"),
    ],
)
def test_bad_keys_are_named(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = _config(tmp_path, f"[probes.context]\n{text}\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    message = str(caught.value)
    assert str(path) in message and key in message and reason in message


def test_other_probes_do_not_take_the_context_keys(tmp_path: Path) -> None:
    path = _config(tmp_path, "[probes.ping]\nladder = [1024]\n")

    with pytest.raises(ConfigError, match="probes.ping.ladder: unknown key"):
        load_config(path)


def test_the_estimate_learns_the_padding_from_usage() -> None:
    estimate = TokenEstimate(0.3)
    # 400 characters of prose are a hundred tokens; the rest is padding.
    assert estimate.padding_chars_for(400, 400) == 1000

    estimate.learn(4000, 400, 1100)
    estimate.learn(36000, 400, 9100)

    assert estimate.tokens_per_char == pytest.approx(0.25)
    assert estimate.padding_chars_for(1100, 400) == 4000
    assert estimate.tokens_for(4000, 400) == 1100


def test_a_tiny_window_plans_nothing_it_cannot_send() -> None:
    assert plan_sweep(ContextProbeConfig(), 200, 64) == []


def test_the_cost_counts_answers_and_says_prompts_are_unpriced() -> None:
    catalog = build_catalog(load_config())

    cost = estimate_sweep_cost(catalog, "deepseek-coder")

    assert cost.requests == 18
    assert 700_000 < cost.input_tokens < 760_000
    assert cost.output_tokens == 18 * 64
    assert cost.cost_usd == pytest.approx(18 * 64 * 0.25 / 1e6)
    assert "input_price_per_mtok" in cost.describe()


def test_an_input_price_is_counted(tmp_path: Path) -> None:
    path = _config(tmp_path, "[models.glm-5]\ninput_price_per_mtok = 0.5\n")
    catalog = build_catalog(load_config(path))

    cost = estimate_sweep_cost(catalog, "glm-5")

    expected = (cost.input_tokens * 0.5 + cost.output_tokens * 1.92) / 1e6
    assert cost.input_priced and cost.cost_usd == pytest.approx(expected)
    assert "input_price_per_mtok" not in cost.describe()


def test_the_public_surface_is_pinned() -> None:
    import prober.context

    assert sorted(prober.context.__all__) == [
        "ContextMetrics", "ContextSweeper", "PROBE", "Rung", "SweepCost",
        "SweepFigures", "SweepResult", "context_settings", "estimate_sweep_cost",
        "length_label", "sweep_plan",
    ]  # fmt: skip
    for name in prober.context.__all__:
        assert getattr(prober.context, name) is not None
