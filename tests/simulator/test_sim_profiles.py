"""The profile file: the ten built-in models, overlays, and strict errors."""

import tomllib
from pathlib import Path

import pytest

from simulator import ProfileError, load_profiles
from simulator.faults import FaultKind

pytestmark = pytest.mark.timeout(10)

CATALOG = Path(__file__).parents[2] / "prober" / "data" / "catalog.toml"

# From shared/reference/seed-catalog.md, exactly.
REFERENCE_QUALITY = {
    "qwen3-coder-30b": 8.8,
    "deepseek-v4-flash": 8.7,
    "deepseek-coder": 8.6,
    "deepseek-v4-pro": 9.1,
    "deepseek-r1": 9.4,
    "kimi-k2.5": 9.0,
    "qwen3-32b": 8.3,
    "glm-5": 8.0,
    "hunyuan-turbo": 7.5,
    "ga-standard": 8.5,
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overlay.toml"
    path.write_text(text)
    return path


def test_builtin_profiles_hold_the_ten_models_with_reference_figures() -> None:
    profiles = load_profiles()

    assert list(profiles.models) == list(REFERENCE_QUALITY)
    for name, quality in REFERENCE_QUALITY.items():
        assert profiles.models[name].reference_quality == quality


def test_task_quality_keeps_the_report_per_task_scores() -> None:
    models = load_profiles().models

    assert models["deepseek-r1"].task_quality == {"flatten": 9.5, "dijkstra": 9.5}
    assert models["deepseek-v4-flash"].task_quality == {
        "flatten": 9.0,
        "race-condition": 9.0,
    }
    assert models["hunyuan-turbo"].task_quality == {"dijkstra": 7.5}


def test_advertised_context_windows_match_the_default_catalog() -> None:
    catalog = tomllib.loads(CATALOG.read_text())["models"]
    profiles = load_profiles()

    for name, model in profiles.models.items():
        assert model.context_window == catalog[name]["context_window"]


def test_models_differ_the_way_the_report_describes() -> None:
    models = load_profiles().models

    tight = [models["deepseek-v4-flash"], models["qwen3-coder-30b"]]
    spiky = models["ga-standard"]
    assert all(m.ttft.sigma <= 0.1 and m.ttft.spike_probability == 0 for m in tight)
    assert spiky.ttft.spike_probability > 0 and spiky.decode.hiccup_probability > 0
    assert spiky.ttft.sigma == max(m.ttft.sigma for m in models.values())
    assert [n for n, m in models.items() if m.reasons] == ["deepseek-r1"]
    degrading = [
        n
        for n, m in models.items()
        if m.context_window >= 131072 and m.effective_context <= 32768
    ]
    assert degrading, "some models advertise 128K but fail past 32K"
    assert not models["deepseek-v4-flash"].faults


def test_overlay_changes_only_what_it_names(tmp_path: Path) -> None:
    overlay = write(
        tmp_path,
        "[models.glm-5]\ncapacity = 3\n[models.extra]\nowned_by = 'me'\n",
    )

    profiles = load_profiles(overlay)

    builtin = load_profiles().models["glm-5"]
    assert profiles.models["glm-5"].capacity == 3
    assert profiles.models["glm-5"].ttft == builtin.ttft
    assert profiles.models["extra"].owned_by == "me"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[models.glm-5.decode]\nmedian_tps = 3\n", "models.glm-5.decode.median_tps"),
        ("[models.glm-5]\ncapacity = 'many'\n", "models.glm-5.capacity"),
        ("[models.glm-5]\ncapacity = 0\n", "models.glm-5.capacity"),
        (
            "[models.glm-5.faults.meltdown]\nprobability = 1\n",
            "models.glm-5.faults.meltdown",
        ),
        (
            "[models.glm-5.faults.stall]\nstatus = 500\n",
            "models.glm-5.faults.stall.status",
        ),
        (
            "[models.glm-5.faults.stall]\nprobability = 2\n",
            "models.glm-5.faults.stall.probability",
        ),
        ("[background]\nday_lenght_s = 60\n", "background.day_lenght_s"),
        (
            "[models.glm-5]\neffective_context = 200000\n",
            "models.glm-5.effective_context",
        ),
        ("colour = 'blue'\n", "colour"),
    ],
)
def test_profile_errors_name_the_file_and_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    overlay = write(tmp_path, text)

    with pytest.raises(ProfileError) as caught:
        load_profiles(overlay)

    assert str(overlay) in str(caught.value)
    assert f"{key}:" in str(caught.value)


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    overlay = write(tmp_path, "[models.glm-5\n")

    with pytest.raises(ProfileError, match="not valid TOML") as caught:
        load_profiles(overlay)

    assert str(overlay) in str(caught.value)


def test_fault_kinds_are_a_closed_set() -> None:
    assert {kind.value for kind in FaultKind} == {
        "outage",
        "server_error",
        "gateway_html",
        "connection_reset",
        "slow_headers",
        "stall",
        "stream_error",
        "malformed_chunk",
    }
