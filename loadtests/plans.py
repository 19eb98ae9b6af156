"""Stage plans: what each load shape asks of Locust, second by second.

A plan is a list of :class:`Stage` objects run one after the other. Each stage
holds a number of users for its duration; a ramp stage moves linearly from the
previous stage's users to its own. Every plan has a fixed total length, so
every shape ends on its own.

The shapes, for ``base`` users and a total length ``D``:

* ``steady``: ``base`` users for ``D``.
* ``peak-hour``: a quiet hour at ``base`` (25% of ``D``), a ramp to
  ``base x multiple`` (15%), the peak held (30%), the decline (15%) and a
  quiet recovery (15%).
* ``spike``: quiet at ``base`` (40%), a jump to ``base x multiple`` held for
  20%, then back to ``base`` (40%).
* ``step``: ``steps`` equal stages of ``base``, ``2 x base``, ... users; the
  run reports the knee (see :mod:`loadtests.stages`).

Roles mark the stages a report compares: ``quiet`` (the baseline) and
``peak``. This module is pure: it imports nothing from Locust.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SHAPES", "Stage", "build_plan", "plan_length_s", "stage_at", "users_at"]

SHAPES = ("steady", "peak-hour", "spike", "step")


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    users: int
    duration_s: float
    ramp: bool = False
    role: str | None = None


def build_plan(
    shape: str, base_users: int, multiple: float, duration_s: float, steps: int
) -> list[Stage]:
    """The stages of ``shape``; raises ``ValueError`` for an unknown shape."""
    if shape == "steady":
        return [Stage("steady", base_users, duration_s, role="quiet")]
    peak = max(base_users + 1, round(base_users * multiple))
    if shape == "peak-hour":
        return _peak_hour(base_users, peak, duration_s)
    if shape == "spike":
        return _spike(base_users, peak, duration_s)
    if shape == "step":
        return _steps(base_users, steps, duration_s)
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def _peak_hour(base: int, peak: int, duration_s: float) -> list[Stage]:
    return [
        Stage("quiet", base, 0.25 * duration_s, role="quiet"),
        Stage("ramp-up", peak, 0.15 * duration_s, ramp=True),
        Stage("peak", peak, 0.30 * duration_s, role="peak"),
        Stage("decline", base, 0.15 * duration_s, ramp=True),
        Stage("recovery", base, 0.15 * duration_s),
    ]


def _spike(base: int, peak: int, duration_s: float) -> list[Stage]:
    return [
        Stage("quiet", base, 0.4 * duration_s, role="quiet"),
        Stage("spike", peak, 0.2 * duration_s, role="peak"),
        Stage("recovery", base, 0.4 * duration_s),
    ]


def _steps(base: int, steps: int, duration_s: float) -> list[Stage]:
    length = duration_s / steps
    return [
        Stage(f"step-{k}", base * k, length, role="quiet" if k == 1 else None)
        for k in range(1, steps + 1)
    ]


def plan_length_s(plan: list[Stage]) -> float:
    return sum(stage.duration_s for stage in plan)


def stage_at(plan: list[Stage], elapsed_s: float) -> int | None:
    """Index of the stage running ``elapsed_s`` into the plan; None after it."""
    end = 0.0
    for index, stage in enumerate(plan):
        end += stage.duration_s
        if elapsed_s < end:
            return index
    return None


def users_at(plan: list[Stage], elapsed_s: float) -> int | None:
    """Users wanted ``elapsed_s`` into the plan; None once it is over."""
    index = stage_at(plan, elapsed_s)
    if index is None:
        return None
    stage = plan[index]
    if not stage.ramp or index == 0:
        return stage.users
    begin = sum(s.duration_s for s in plan[:index])
    done = (elapsed_s - begin) / stage.duration_s
    previous = plan[index - 1].users
    return round(previous + (stage.users - previous) * done)
