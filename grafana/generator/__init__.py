"""prober's Grafana dashboards, generated as code.

Each module builds one dashboard with the Grafana Foundation SDK;
``python -m grafana.generator`` writes them to ``grafana/dashboards`` as the
JSON that Grafana's file provisioning loads, and ``--check`` fails when the
committed files differ from what the code generates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana.generator import context, health, load_tests, model_detail, overview
from grafana.generator.panels import to_json

__all__ = ["DASHBOARDS", "DASHBOARD_DIR", "render", "render_all"]

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboards"

# File name (without .json) -> the function that builds the dashboard.
DASHBOARDS: dict[str, Callable[[], Any]] = {
    "overview": overview.build,
    "model-detail": model_detail.build,
    "context": context.build,
    "load-tests": load_tests.build,
    "prober-health": health.build,
}


def render(name: str) -> str:
    """The JSON text of one dashboard, as committed."""
    document = to_json(DASHBOARDS[name]())
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render_all() -> dict[Path, str]:
    return {DASHBOARD_DIR / f"{name}.json": render(name) for name in DASHBOARDS}
