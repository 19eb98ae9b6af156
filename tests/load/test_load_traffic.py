"""Options, the model and prompt mix, and what a process sends where."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import pytest

from loadtests.mix import Mix, parse_weights
from loadtests.settings import LoadSettings, add_arguments, chat_path, is_loopback
from loadtests.traffic import Traffic
from prober.catalog import build_catalog
from prober.config import load_config
from prober.exceptions import SetupError


class _LocustLikeParser(argparse.ArgumentParser):
    """Takes Locust's extra keywords, as its LocustArgumentParser does."""

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("include_in_web_ui", None)
        return super().add_argument(*args, **kwargs)


def _settings(*argv: str) -> LoadSettings:
    parser = _LocustLikeParser()
    add_arguments(parser)
    return LoadSettings.from_options(parser.parse_args(list(argv)))


def test_defaults_are_bounded_and_match_the_settings() -> None:
    settings = _settings()
    assert settings == LoadSettings()
    assert settings.duration_s == 180 and settings.shape == "peak-hour"
    assert settings.slo.ttft_p95_s == 0.5 and settings.slo.error_rate == 0.01


def test_options_are_read_and_checked_by_name() -> None:
    settings = _settings("--shape", "step", "--steps", "4", "--paid", "--no-store")
    assert (settings.shape, settings.steps, settings.paid) == ("step", 4, True)
    assert settings.no_store
    with pytest.raises(ValueError, match="--peak-multiple: 1.0: must be above 1"):
        _settings("--peak-multiple", "1")
    with pytest.raises(ValueError, match="--base-users"):
        _settings("--base-users", "0")


def test_weights() -> None:
    assert parse_weights("a=2, b", "--models") == {"a": 2.0, "b": 1.0}
    with pytest.raises(ValueError, match="--models: 'a=x'"):
        parse_weights("a=x", "--models")
    with pytest.raises(ValueError, match="above 0"):
        parse_weights("a=0", "--probes")


def test_default_mix_is_every_model_and_every_coding_task() -> None:
    catalog = build_catalog(load_config())
    mix = Mix.build(catalog, "", "")
    assert set(mix.models) == set(catalog.models) and len(mix.models) == 10
    assert set(mix.tasks) == set(catalog.tasks) - {"ping"}
    picks = {mix.pick(random.Random(seed)).model for seed in range(200)}
    assert picks == set(catalog.models)


def test_mix_follows_weights_and_rejects_unknown_probes() -> None:
    catalog = build_catalog(load_config())
    mix = Mix.build(catalog, "glm-5=9,my-own-model", "ping")
    rng = random.Random(3)
    drawn = [mix.pick(rng).model for _ in range(1000)]
    assert 850 < drawn.count("glm-5") < 950
    assert {mix.pick(rng).task.name for _ in range(20)} == {"ping"}
    with pytest.raises(ValueError, match="--probes: unknown fizzbuzz"):
        Mix.build(catalog, "", "fizzbuzz")


def test_loopback_and_paths() -> None:
    assert is_loopback("http://127.0.0.1:8000") and is_loopback("http://localhost")
    assert is_loopback("http://[::1]:8000")
    assert not is_loopback("https://global-apis.com/v1")
    assert chat_path("http://127.0.0.1:8000") == "/v1/chat/completions"
    assert chat_path("https://global-apis.com/v1/") == "/v1/chat/completions"
    assert chat_path("https://gw.example/openai/v1") == "/openai/v1/chat/completions"


def test_simulator_traffic_needs_no_key() -> None:
    traffic = Traffic.build(LoadSettings(max_tokens=32), "http://127.0.0.1:8000")
    assert not traffic.paid and traffic.provider == "simulator"
    assert traffic.vantage == "local" and "Authorization" not in traffic.headers
    assert traffic.headers["Accept-Encoding"] == "identity"
    body, prompt_chars = traffic.request("glm-5", "flatten")
    sent = json.loads(body)
    prompt = traffic.catalog.tasks["flatten"].prompt
    assert sent["messages"][0]["content"].endswith(prompt)
    assert sent["messages"][0]["content"].startswith("nonce: ")
    assert sent["max_tokens"] == 32 and sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert prompt_chars == len(prompt)
    assert json.loads(traffic.request("glm-5", "flatten")[0]) != sent  # new nonce


def test_a_paid_host_needs_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLOBAL_API_KEY", raising=False)
    with pytest.raises(SetupError, match="GLOBAL_API_KEY"):
        Traffic.build(LoadSettings(), "https://global-apis.com/v1")

    monkeypatch.setenv("GLOBAL_API_KEY", "sk-test")
    traffic = Traffic.build(LoadSettings(), "https://global-apis.com/v1")
    assert traffic.paid and traffic.provider == "global-api"
    assert traffic.headers["Authorization"] == "Bearer sk-test"


def test_other_hosts_use_the_named_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_GATEWAY_KEY", "k")
    settings = LoadSettings(api_key_env="MY_GATEWAY_KEY", paid=True)
    traffic = Traffic.build(settings, "http://localhost:4000/v1")
    # A local gateway in front of a provider is not the simulator.
    assert traffic.paid and traffic.provider == "localhost"
    assert traffic.headers["Authorization"] == "Bearer k"
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(SetupError, match="OPENAI_API_KEY"):
        Traffic.build(LoadSettings(), "https://llm.example.com/v1")


def test_labels_and_database_come_from_the_prober_config(tmp_path: Path) -> None:
    config = tmp_path / "prober.toml"
    config.write_text('[prober]\nvantage = "eu-west"\ndatabase = "runs.db"\n')
    settings = LoadSettings(prober_config=str(config), provider="sim-b")
    traffic = Traffic.build(settings, "http://127.0.0.1:8000")
    assert (traffic.vantage, traffic.provider, traffic.database) == (
        "eu-west",
        "sim-b",
        "runs.db",
    )


def test_cost_uses_catalog_prices() -> None:
    from tests.load.samples import ok

    traffic = Traffic.build(LoadSettings(), "http://127.0.0.1:8000")
    price = traffic.catalog.models["glm-5"].price_per_mtok
    assert price is not None
    assert traffic.cost(ok(0, 0.2)) == pytest.approx(101 * price / 1e6)
    assert traffic.cost(ok(0, 0.2, model="not-in-catalog")) is None
