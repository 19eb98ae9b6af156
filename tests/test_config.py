"""The default catalog and user config files: merging, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from prober.catalog import build_catalog
from prober.config import load_config
from prober.exceptions import ConfigError, SetupError

SEED = {
    # id: (display name, vendor, price, reference quality, reference value)
    "qwen3-coder-30b": ("Qwen3-Coder-30B", "Qwen", 0.35, 8.8, 25.1),
    "deepseek-v4-flash": ("DeepSeek V4 Flash", "DeepSeek", 0.25, 8.7, 34.8),
    "deepseek-coder": ("DeepSeek Coder", "DeepSeek", 0.25, 8.6, 34.4),
    "deepseek-v4-pro": ("DeepSeek V4 Pro", "DeepSeek", 0.78, 9.1, 11.7),
    "deepseek-r1": ("DeepSeek-R1", "DeepSeek", 2.50, 9.4, 3.8),
    "kimi-k2.5": ("Kimi K2.5", "Moonshot", 3.00, 9.0, 3.0),
    "qwen3-32b": ("Qwen3-32B", "Qwen", 0.28, 8.3, 29.6),
    "glm-5": ("GLM-5", "Zhipu", 1.92, 8.0, 4.2),
    "hunyuan-turbo": ("Hunyuan-Turbo", "Tencent", 0.57, 7.5, 13.2),
    "ga-standard": ("Ga-Standard", "GA Routing", 0.20, 8.5, 42.5),
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prober.toml"
    path.write_text(text)
    return path


def test_default_catalog_matches_the_seed_figures() -> None:
    catalog = build_catalog(load_config())
    assert list(catalog.models) == list(SEED)
    for rank, (model_id, figures) in enumerate(SEED.items(), 1):
        model = catalog.models[model_id]
        shown = (
            model.display_name,
            model.vendor,
            model.price_per_mtok,
            model.reference_quality,
            model.reference_value,
        )
        assert shown == figures
        assert model.reference_rank == rank
        assert model.provider == "simulator"
    gateway = catalog.providers["global-api"]
    assert gateway.base_url == "https://global-apis.com/v1"
    assert gateway.api_key_env == "GLOBAL_API_KEY"


def test_user_file_adds_overrides_and_moves(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[providers.my-gateway]
base_url = "http://127.0.0.1:9999/v1"
api_key_env = "MY_GATEWAY_KEY"

[models.qwen3-coder-30b]
price_per_mtok = 0.30
provider = "my-gateway"

[models.my-model]
display_name = "My Model"
price_per_mtok = 1.0
intervals = { ping = 15 }

[probes.ping]
interval_s = 30
""",
    )
    catalog = build_catalog(load_config(path), str(path))
    assert catalog.models["qwen3-coder-30b"].price_per_mtok == 0.30
    assert catalog.models["qwen3-coder-30b"].provider == "my-gateway"
    assert catalog.models["qwen3-coder-30b"].display_name == "Qwen3-Coder-30B"
    assert catalog.interval("my-model", "ping") == 15
    assert catalog.interval("glm-5", "ping") == 30
    assert catalog.interval("glm-5", "coding") == 600


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[models.glm-5]\nprice = 1.0\n", "models.glm-5.price", "unknown key"),
        (
            "[models.glm-5]\nprice_per_mtok = -1\n",
            "models.glm-5.price_per_mtok",
            "greater than or equal to 0",
        ),
        (
            '[models.new-one]\nvendor = "x"\n',
            "models.new-one.display_name",
            "required key is missing",
        ),
        (
            '[models.glm-5]\nprovider = "nowhere"\n',
            "models.glm-5.provider",
            "unknown provider 'nowhere'",
        ),
        (
            '[providers.x]\nbase_url = "ftp://host"\n',
            "providers.x.base_url",
            "http:// or https://",
        ),
        (
            '[providers.global-api]\napi_key = "sk-123"\n',
            "providers.global-api.api_key",
            "environment only",
        ),
        ("[probes.ping]\ninterval_s = 0\n", "probes.ping.interval_s", "greater than 0"),
        ("[prober]\nlisten_on = 1\n", "prober.listen_on", "unknown key"),
        ("[prober]\ndaily_budget_usd = 0\n", "prober.daily_budget_usd", "than 0"),
        ('[prober]\nshard = "a/b"\n', "prober.shard", "pattern"),
        ("[schedule]\ncoding_interval_s = -1\n", "schedule.coding_interval_s", "0"),
        (
            "[retention]\nraw_days = 30\nrollup_days = 7\n",
            "retention",
            "rollup_days must be at least raw_days",
        ),
        (
            "[[maintenance]]\nstart = 2026-01-02T00:00:00Z\n"
            "end = 2026-01-01T00:00:00Z\n",
            "maintenance.0",
            "end must be after start",
        ),
        (
            "[models.glm-5]\nintervals = { pong = 5 }\n",
            "models.glm-5.intervals.pong",
            "unknown probe",
        ),
    ],
)
def test_bad_values_name_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        build_catalog(load_config(path), str(path))
    error = caught.value
    assert error.source == str(path)
    assert error.key == key
    assert reason in error.reason
    assert str(path) in str(error) and key in str(error)


def test_unknown_probe_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "[probes.pingg]\ninterval_s = 5\n")
    with pytest.raises(ConfigError, match=r"probes\.pingg: unknown probe"):
        build_catalog(load_config(path), str(path))


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[models\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")


def test_keys_come_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = build_catalog(load_config()).with_provider("global-api")
    monkeypatch.delenv("GLOBAL_API_KEY", raising=False)
    with pytest.raises(SetupError, match="GLOBAL_API_KEY"):
        catalog.require_keys()
    monkeypatch.setenv("GLOBAL_API_KEY", "secret-value")
    catalog.require_keys()
    assert catalog.provider_of("glm-5").endpoint().api_key == "secret-value"


def test_maintenance_windows_and_retention_reach_the_catalog(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[retention]
raw_days = 7

[[maintenance]]
start = 2026-01-01T02:00:00
end = 2026-01-01T04:00:00+01:00
models = ["glm-5"]
""",
    )
    catalog = build_catalog(load_config(path), str(path))
    (window,) = catalog.maintenance
    assert window.start.isoformat() == "2026-01-01T02:00:00+00:00"
    assert window.end.isoformat() == "2026-01-01T03:00:00+00:00"
    assert catalog.retention.raw_days == 7 and catalog.retention.rollup_days == 400
