"""The weighted mix of models and probe prompts a load test sends.

``--models`` and ``--probes`` take ``name=weight`` lists (``glm-5=3,kimi-k2.5``;
a name without a weight weighs 1). By default every catalog model weighs the
same, and so does every coding task (the ``ping`` prompt only when asked for),
because capacity is about the traffic a coding assistant really sends.
Each request draws a model and a probe independently.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from prober.catalog import Catalog, Task

__all__ = ["Mix", "Target", "parse_weights"]

DEFAULT_EXCLUDED_PROBES = frozenset({"ping"})


@dataclass(frozen=True, slots=True)
class Target:
    model: str
    task: Task


def parse_weights(text: str, option: str) -> dict[str, float]:
    """``a=2,b`` as ``{"a": 2.0, "b": 1.0}``; ``ValueError`` names ``option``."""
    weights: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, weight = item.partition("=")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"{option}: {item!r}: weight is not a number") from None
        if value <= 0:
            raise ValueError(f"{option}: {item!r}: weight must be above 0")
        weights[name.strip()] = value
    if not weights:
        raise ValueError(f"{option}: no names given")
    return weights


@dataclass(frozen=True, slots=True)
class Mix:
    models: dict[str, float]
    tasks: dict[str, float]
    catalog_tasks: dict[str, Task]

    @classmethod
    def build(cls, catalog: Catalog, models: str, probes: str) -> Mix:
        """The mix from the option texts; empty texts mean the defaults.

        Model ids outside the catalog are allowed (a real provider's own
        names); probes must be known tasks.
        """
        chosen_models = (
            parse_weights(models, "--models")
            if models
            else dict.fromkeys(catalog.models, 1.0)
        )
        default_tasks = [t for t in catalog.tasks if t not in DEFAULT_EXCLUDED_PROBES]
        chosen_tasks = (
            parse_weights(probes, "--probes")
            if probes
            else dict.fromkeys(default_tasks, 1.0)
        )
        unknown = sorted(set(chosen_tasks) - set(catalog.tasks))
        if unknown:
            known = ", ".join(catalog.tasks)
            raise ValueError(f"--probes: unknown {', '.join(unknown)}; known: {known}")
        return cls(chosen_models, chosen_tasks, catalog.tasks)

    def pick(self, rng: random.Random) -> Target:
        model = rng.choices(list(self.models), list(self.models.values()))[0]
        task = rng.choices(list(self.tasks), list(self.tasks.values()))[0]
        return Target(model, self.catalog_tasks[task])

    def pairs(self) -> list[tuple[str, str]]:
        """Every (model, probe) the mix can send."""
        return [(model, task) for model in self.models for task in self.tasks]
