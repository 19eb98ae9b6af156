"""Fixtures for grading tests: what this host can run, and quick settings.

Tests that need node, the npm packages or bubblewrap skip with the reason
when the host lacks them; `python -m prober.grading` installs the packages.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from prober.grading import GradingSettings, npm, sandbox
from prober.grading.sandbox import Isolation


@pytest.fixture(scope="session")
def settings() -> GradingSettings:
    return GradingSettings()


@pytest.fixture(scope="session")
def quick() -> GradingSettings:
    """Tight limits so hostile answers are cut off in seconds."""
    return GradingSettings(wall_timeout_s=4.0, cpu_limit_s=3)


@pytest.fixture(scope="session")
def static_only() -> GradingSettings:
    return GradingSettings(execute=False)


@pytest.fixture(scope="session")
def node_ready() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")


@pytest.fixture(scope="session")
def packages_ready(node_ready: None) -> None:
    if npm.installed_modules() is None:
        pytest.skip("npm packages not installed: run `python -m prober.grading`")


@pytest.fixture(scope="session")
def bwrap_ready(settings: GradingSettings) -> None:
    if sandbox.isolation_available(settings) is not Isolation.BWRAP:
        pytest.skip("bubblewrap is missing or cannot create namespaces here")


BANKS = Path(__file__).resolve().parents[2] / "simulator" / "data" / "answers"


def read_bank(task: str) -> list[dict[str, Any]]:
    with (BANKS / f"{task}.toml").open("rb") as stream:
        return tomllib.load(stream)["answers"]


@pytest.fixture(scope="session")
def bank() -> Callable[[str], list[dict[str, Any]]]:
    """The simulator's answer bank of a task, as a list of tables."""
    return read_bank
