"""The schedule plan: which jobs run, for which model, how often.

Every model gets up to three kinds of job:

* ``ping``, the uptime probe, every minute by default;
* ``coding``, one coding task per run, taken in turn from every task file in
  ``prober/tasks`` except ping and context, every ten minutes by default;
* ``context``, the context sweep, daily by default, once a ``context`` probe
  exists.

A coding task given its own ``interval_s`` leaves the rotation and becomes a
job of its own. The plan is data; :mod:`prober.scheduler` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prober.catalog import CODING, CONTEXT, PING, Catalog, shard_index

__all__ = ["Job", "build_plan"]

_MAX_JITTER_S = 30.0


@dataclass(slots=True)
class Job:
    """One recurring job for one model."""

    model: str
    name: str
    """``ping``, ``coding``, ``context`` or the name of a probe of its own."""
    probes: tuple[str, ...]
    interval_s: float
    jitter_s: float
    timeout_s: float
    _turn: int = field(default=0, repr=False)

    @property
    def id(self) -> str:
        return f"{self.name}:{self.model}"

    @property
    def expensive(self) -> bool:
        """Every job but ping spends real tokens; a budget pauses these."""
        return self.name != PING

    def next_probe(self) -> str:
        """The probe to run now; a rotation moves on by one each call."""
        probe = self.probes[self._turn % len(self.probes)]
        self._turn += 1
        return probe


def build_plan(catalog: Catalog) -> list[Job]:
    """Every job the catalog asks for, in a stable order."""
    jobs = []
    rotation = tuple(catalog.coding_tasks())
    for model in sorted(catalog.models):
        for name, probes in _slots(catalog, rotation):
            job = _job(catalog, model, name, probes)
            if name == CODING:
                # Start each model at a different task, so one pass of the
                # scheduler spreads over the tasks instead of sending every
                # model the same prompt at once.
                job._turn = shard_index(model, len(probes)) - 1
            jobs.append(job)
    return jobs


def _slots(
    catalog: Catalog, rotation: tuple[str, ...]
) -> list[tuple[str, tuple[str, ...]]]:
    slots: list[tuple[str, tuple[str, ...]]] = []
    for name, settings in catalog.probes.items():
        if not settings.enabled or name in rotation:
            continue
        if name in (PING, CONTEXT) or settings.interval_s is not None:
            slots.append((name, (name,)))
    if rotation:
        slots.append((CODING, rotation))
    return sorted(slots)


def _job(catalog: Catalog, model: str, name: str, probes: tuple[str, ...]) -> Job:
    interval_s = catalog.interval(model, name)
    jitter_s = catalog.probes[probes[0]].jitter_s
    if jitter_s is None:
        jitter_s = min(interval_s * 0.1, _MAX_JITTER_S)
    longest = max(catalog.timeouts(probe).total_s for probe in probes)
    return Job(
        model=model,
        name=name,
        probes=probes,
        interval_s=interval_s,
        jitter_s=jitter_s,
        timeout_s=longest + catalog.schedule.job_timeout_margin_s,
    )
