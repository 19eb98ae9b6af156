"""Locust load shapes that follow a stage plan (:mod:`loadtests.plans`).

``ProberShape`` runs the shape named by ``--shape``; ``SteadyShape``,
``PeakHourShape``, ``SpikeShape`` and ``StepShape`` run one shape each, for
Locust's class picker (``--class-picker``). All read their sizes from the
options at the start of a run, tell the run's recorder when each stage
starts, and end on their own when the plan is over.

After the last stage the users are stopped and the run waits a few seconds
before it ends, so that workers' last samples reach the master while the run
is still open. A step run stops early once a finished step has missed the
SLO: the knee is below it, and more load would only burden the target.
"""

from __future__ import annotations

import logging
import time
from typing import ClassVar

from locust import LoadTestShape
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner

from loadtests.plans import Stage, build_plan, plan_length_s, stage_at, users_at
from loadtests.session import LoadSession, session_of
from loadtests.settings import LoadSettings

__all__ = ["PeakHourShape", "ProberShape", "SpikeShape", "SteadyShape", "StepShape"]

log = logging.getLogger(__name__)

_MAX_SPAWN_RATE = 100.0
_LOCAL_SETTLE_S = 2.0


class PlannedShape(LoadTestShape):
    """Runs the plan of ``shape_name`` (or of ``--shape`` when it is None)."""

    abstract: ClassVar[bool] = True
    shape_name: ClassVar[str | None] = None

    def __init__(self) -> None:
        super().__init__()
        self._clear()

    def reset_time(self) -> None:
        super().reset_time()
        # Locust calls this when a run starts, and a master calls it again
        # when its first users are dispatched, a tick into the run: only a
        # new run starts the plan over.
        if self._session is None or not self._session.running:
            self._clear()

    def _clear(self) -> None:
        self._plan: list[Stage] | None = None
        self._session: LoadSession | None = None
        self._index: int | None = None
        self._judged = 0
        self._drain_until: float | None = None

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if self._plan is None:
            self._begin()
        assert self._plan is not None and self._session is not None
        if self._drain_until is not None:
            return None if elapsed >= self._drain_until else (0, _MAX_SPAWN_RATE)

        index = stage_at(self._plan, elapsed)
        if index is None or self._breached(index, elapsed):
            return self._end(elapsed)
        if index != self._index:
            self._enter(index)
        users = users_at(self._plan, elapsed) or 0
        return users, min(_MAX_SPAWN_RATE, max(1.0, float(users)))

    def _begin(self) -> None:
        assert self.runner is not None
        environment = self.runner.environment
        settings = LoadSettings.from_options(environment.parsed_options)
        shape = self.shape_name or settings.shape
        self._plan = build_plan(
            shape,
            settings.base_users,
            settings.peak_multiple,
            settings.duration_s,
            settings.steps,
        )
        self._session = session_of(environment)
        self._session.run_started(shape, settings)
        log.info(
            "%s shape: %d stages, %.0f s",
            shape,
            len(self._plan),
            plan_length_s(self._plan),
        )

    def _enter(self, index: int) -> None:
        assert self._plan is not None and self._session is not None
        users_start = self._plan[self._index].users if self._index is not None else 0
        self._index = index
        self._session.stage_started(index, self._plan[index], time.time(), users_start)

    def _breached(self, index: int, elapsed: float) -> bool:
        """True once a finished step of a step run has missed the SLO."""
        assert self._plan is not None and self._session is not None
        if (self.shape_name or self._session.settings.shape) != "step":
            return False
        while self._judged < index:
            ended = plan_length_s(self._plan[: self._judged + 1])
            if elapsed < ended + self._settle_s():
                return False
            verdict = self._session.verdict(self._judged)
            self._judged += 1
            if verdict is False:
                step = self._plan[self._judged - 1]
                log.info(
                    "%s missed the SLO at %d users: stopping", step.name, step.users
                )
                return True
        return False

    def _end(self, elapsed: float) -> tuple[int, float] | None:
        assert self._session is not None
        self._session.plan_ended(time.time())
        drain_s = self._drain_s()
        if drain_s <= 0:
            return None
        self._drain_until = elapsed + drain_s
        return 0, _MAX_SPAWN_RATE

    def _drain_s(self) -> float:
        if isinstance(self.runner, MasterRunner):
            return WORKER_REPORT_INTERVAL + 1.0
        return 0.0

    def _settle_s(self) -> float:
        return max(_LOCAL_SETTLE_S, self._drain_s())


class ProberShape(PlannedShape):
    """The shape named by ``--shape`` (steady, peak-hour, spike or step)."""

    abstract: ClassVar[bool] = False


class SteadyShape(PlannedShape):
    abstract: ClassVar[bool] = False
    shape_name: ClassVar[str | None] = "steady"


class PeakHourShape(PlannedShape):
    abstract: ClassVar[bool] = False
    shape_name: ClassVar[str | None] = "peak-hour"


class SpikeShape(PlannedShape):
    abstract: ClassVar[bool] = False
    shape_name: ClassVar[str | None] = "spike"


class StepShape(PlannedShape):
    abstract: ClassVar[bool] = False
    shape_name: ClassVar[str | None] = "step"
