"""Reading the committed dashboards: their panels, queries and variables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "grafana" / "dashboards"
DATASOURCES = REPO / "grafana" / "provisioning" / "datasources" / "prober.yml"


@dataclass(frozen=True)
class Query:
    dashboard: str  # file name
    panel: str  # panel title
    kind: str  # datasource type
    datasource_uid: str
    text: str  # PromQL or SQL, before variables are interpolated
    instant: bool = False  # a PromQL query Grafana runs at the range's end only

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel}: {self.text}"


def dashboards() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text())
        for path in sorted(DASHBOARD_DIR.glob("*.json"))
    }


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries() -> list[Query]:
    found = []
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                source = target.get("datasource") or panel["datasource"]
                text = target.get("expr") or target.get("rawSql") or ""
                found.append(
                    Query(
                        name,
                        panel["title"],
                        source["type"],
                        source["uid"],
                        text,
                        bool(target.get("instant")),
                    )
                )
    return found


def variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def provisioned_datasources() -> dict[str, str]:
    """uid -> type, from the provisioning file."""
    document = yaml.safe_load(DATASOURCES.read_text())
    return {source["uid"]: source["type"] for source in document["datasources"]}
