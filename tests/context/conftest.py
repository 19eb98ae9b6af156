"""A simulator process whose models prefill fast and never fail, so a whole
sweep of the default ladder takes seconds; context windows and effective
contexts stay the built-in profiles'."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

# Fast and distinct per model, so the fit has a figure to find; slow enough
# that the simulator's own reading of a long prompt is a small part of it.
PREFILL = {
    "deepseek-coder": 50_000.0,
    "qwen3-32b": 60_000.0,
    "hunyuan-turbo": 40_000.0,
    "deepseek-v4-flash": 100_000.0,
    "glm-5": 40_000.0,
    "kimi-k2.5": 80_000.0,
    "deepseek-r1": 50_000.0,
}
_START_TIMEOUT_S = 30


@dataclass(frozen=True)
class FastSimulator:
    url: str  # OpenAI base URL, ending in /v1
    profiles: dict[str, Any]  # the built-in profiles, by model

    def config(self, tmp_path: Path, extra: str = "") -> Path:
        """A prober config sending the simulator provider to this process."""
        path = tmp_path / "prober.toml"
        path.write_text(f'[providers.simulator]\nbase_url = "{self.url}"\n{extra}')
        return path


def _overlay() -> str:
    lines = []
    for model, rate in PREFILL.items():
        lines += [
            f'[models."{model}"]',
            f"prefill_tokens_per_s = {rate}",
            "ttft = { median_s = 0.05, sigma = 0.0, spike_probability = 0.0 }",
            "decode = { median_tokens_per_s = 2000.0, sigma = 0.0, "
            "hiccup_probability = 0.0 }",
            "reasoning = { median_tokens = 20.0, sigma = 0.0 }"
            if model == "deepseek-r1"
            else "",
            "",
        ]
    return "\n".join(lines)


def _clear_faults(base: str) -> None:
    request = urllib.request.Request(f"{base}/admin/faults/*/*", method="DELETE")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


@pytest.fixture(scope="module")
def fast_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastSimulator]:
    folder = tmp_path_factory.mktemp("simulator")
    overlay = folder / "fast.toml"
    overlay.write_text(_overlay())
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--seed", "11",
         "--profiles", str(overlay), "--log-level", "WARNING"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on "), line
        base = line.split()[-1].rstrip("/")
        _clear_faults(base)
        builtin = resources.files("simulator") / "data" / "profiles.toml"
        with builtin.open("rb") as handle:
            profiles = tomllib.load(handle)["models"]
        yield FastSimulator(f"{base}/v1", profiles)
    finally:
        process.terminate()
        process.wait(_START_TIMEOUT_S)
        if process.stdout is not None:
            process.stdout.close()
