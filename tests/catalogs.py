"""Catalogs for tests: the default one, with tasks and limits changed."""

from __future__ import annotations

from dataclasses import replace

from prober.catalog import Catalog, Task, build_catalog
from prober.config import ProbeConfig, load_config


def task(name: str, max_tokens: int = 100) -> Task:
    return Task(name, name, "text", f"prompt of {name}", max_tokens, 0.0)


def catalog_with_tasks(*names: str, **probes: ProbeConfig) -> Catalog:
    """The default catalog with tasks ``ping`` and ``names``; ``probes``
    overrides their settings."""
    catalog = build_catalog(load_config())
    tasks = {"ping": task("ping", 16), **{name: task(name) for name in names}}
    settings = {name: ProbeConfig() for name in tasks}
    settings["ping"] = ProbeConfig(interval_s=60, max_tokens=16)
    settings.update(probes)
    return replace(catalog, tasks=tasks, probes=settings)
