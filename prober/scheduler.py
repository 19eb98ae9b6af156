"""The probe schedule: one APScheduler job per (model, probe).

Each job runs as its own task on the event loop, so a slow provider never
delays the others; ``max_instances=1`` keeps a job from overlapping itself;
missed runs are coalesced into one and dropped past a grace time; jitter
spreads jobs that share an interval. First runs are staggered over a few
seconds so a fresh start probes every model promptly without a burst.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

__all__ = ["ProbeScheduler"]

log = logging.getLogger(__name__)

ProbeJob = Callable[[str, str], Awaitable[None]]

_FIRST_RUN_SPREAD_S = 5.0


class ProbeScheduler:
    """Schedules ``job(model, probe)`` for every scheduled pair."""

    def __init__(self, job: ProbeJob, misfire_grace_s: float = 30.0) -> None:
        self._job = job
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(misfire_grace_s),
            },
        )

    def add(
        self, model: str, probe: str, interval_s: float, jitter_s: float | None = None
    ) -> None:
        if jitter_s is None:
            jitter_s = min(interval_s * 0.1, 30.0)
        first = datetime.now(UTC) + timedelta(
            seconds=random.uniform(0, min(_FIRST_RUN_SPREAD_S, interval_s))
        )
        self._scheduler.add_job(
            self._job,
            IntervalTrigger(seconds=interval_s, jitter=jitter_s or None, timezone=UTC),
            args=(model, probe),
            id=f"{probe}:{model}",
            name=f"{probe} {model}",
            next_run_time=first,
        )

    @property
    def job_count(self) -> int:
        return len(self._scheduler.get_jobs())

    def start(self) -> None:
        self._scheduler.start()
        log.info("scheduler started with %d jobs", self.job_count)

    def pause(self) -> None:
        """Start no new runs; runs already going carry on."""
        if self._scheduler.running:
            self._scheduler.pause()

    def shutdown(self) -> None:
        """Stop the scheduler. Its executor cancels runs still going, so
        drain them first (:meth:`pause`, then wait)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
