"""Running the plan: one APScheduler job per (model, job), plus housekeeping.

Each run is its own task on the event loop, so a slow provider never delays
the others. The guarantees, and where they come from:

* no overlap: ``max_instances=1``; a run that finds the previous one still
  going is skipped and counted (``reason="overlap"``);
* coalescing: runs missed while the process was busy collapse into one;
* misfire grace: a run later than the grace time is dropped and counted
  (``reason="missed"``) rather than fired late;
* jitter spreads jobs that share an interval without slowing them: each run
  falls at a random point of the first ``jitter_s`` of its own slot (first
  run plus a whole number of intervals), so a job runs once per interval on
  average (APScheduler's own jitter counts each interval from the previous
  jittered run and so adds half the jitter to every period); first runs are spread
  evenly over a start-up window (five seconds, longer for many jobs: at
  most :data:`FIRST_RUNS_PER_S` a second, never past a job's interval) so a
  fresh start probes every model without a burst;
* a hard timeout per run: the runner records a probe cut at the job's
  timeout as a ``total_timeout`` row; this module's own limit, a little
  longer, cancels anything else that hangs so later runs are never blocked;
* lag: how late each run starts against its planned (jittered) time,
  exported as ``prober_scheduler_lag_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import DBAPIError

from prober.metrics import ProberMetrics
from prober.plan import Job
from storage.outage import outage_cause

__all__ = ["ProbeScheduler", "SlotTrigger"]

log = logging.getLogger(__name__)

JobRunner = Callable[[Job], Awaitable[None]]
Housekeeping = Callable[[], Awaitable[None]]

_FIRST_RUN_SPREAD_S = 5.0
FIRST_RUNS_PER_S = 20.0
"""Start-up pace: 1,000 jobs take 50 s to make their first runs."""
_CUT_SLACK_S = 10.0
_HOUSEKEEPING = "housekeeping:"


class SlotTrigger(IntervalTrigger):
    """Runs at ``start`` and then once in each later interval-long slot, at a
    random point of the slot's first ``jitter_s`` seconds. Jitter never adds
    up: the n-th run is n intervals after ``start`` plus at most ``jitter_s``,
    however late the runs before it fell."""

    def __init__(self, interval_s: float, jitter_s: float, start: datetime) -> None:
        super().__init__(seconds=interval_s, start_date=start, timezone=UTC)
        self.jitter_s = jitter_s

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is None:
            return super().get_next_fire_time(None, now)
        start = self.start_date.timestamp()
        since = previous_fire_time.timestamp() - start
        # Times are kept to the microsecond, so a run on its slot's very start
        # may read a hair early; the microsecond keeps it in its own slot.
        slot = math.floor((since + 1e-6) / self.interval_length) + 1
        offset = random.uniform(0, self.jitter_s) if self.jitter_s else 0.0
        moment = start + slot * self.interval_length + offset
        return datetime.fromtimestamp(moment, tz=UTC)


class ProbeScheduler:
    """Schedules ``run(job)`` for every job of the plan."""

    def __init__(
        self,
        run: JobRunner,
        metrics: ProberMetrics,
        misfire_grace_s: float = 60.0,
        cut_slack_s: float = _CUT_SLACK_S,
    ) -> None:
        self._run = run
        self._metrics = metrics
        self._cut_slack_s = cut_slack_s
        self._jobs: dict[str, Job] = {}
        self._planned: dict[str, datetime] = {}
        self._pending: list[tuple[Job, datetime | None]] = []
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": max(1, round(misfire_grace_s)),
            },
        )
        self._scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self._scheduler.add_listener(self._on_overlap, EVENT_JOB_MAX_INSTANCES)
        self._scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)

    def add(self, job: Job, last_run: datetime | None = None) -> None:
        """Schedule ``job``; with ``last_run`` (from the database) its first
        run waits until a full interval after it, so restarting prober does
        not repeat a daily sweep or a coding task that just ran. Jobs added
        before :meth:`start` get their first runs there, spread together."""
        self._jobs[job.id] = job
        if not self._scheduler.running:
            self._pending.append((job, last_run))
            return
        spread = random.uniform(0, min(_FIRST_RUN_SPREAD_S, job.interval_s))
        self._schedule(job, last_run, spread)

    def _schedule(self, job: Job, last_run: datetime | None, offset_s: float) -> None:
        first = datetime.now(UTC) + timedelta(seconds=offset_s)
        if last_run is not None:
            first = max(first, last_run + timedelta(seconds=job.interval_s))
        self._scheduler.add_job(
            self._run_job,
            SlotTrigger(job.interval_s, job.jitter_s, first),
            args=(job,),
            id=job.id,
            name=f"{job.name} {job.model}",
            next_run_time=first,
        )

    def _schedule_pending(self) -> None:
        """First runs evenly over the start-up window, each at a random point
        of its own slot, in random order so no model or probe goes first."""
        pending, self._pending = self._pending, []
        random.shuffle(pending)
        count = len(pending)
        window_s = max(_FIRST_RUN_SPREAD_S, count / FIRST_RUNS_PER_S)
        for slot, (job, last_run) in enumerate(pending):
            width = min(window_s, job.interval_s)
            self._schedule(job, last_run, width * (slot + random.random()) / count)

    def every(
        self, name: str, interval_s: float, task: Housekeeping, first_in_s: float
    ) -> None:
        """Run ``task`` (rollups, uptime, retention) every ``interval_s``."""
        self._scheduler.add_job(
            self._run_housekeeping,
            IntervalTrigger(seconds=interval_s, timezone=UTC),
            args=(name, task),
            id=_HOUSEKEEPING + name,
            name=name,
            next_run_time=datetime.now(UTC) + timedelta(seconds=first_in_s),
        )

    @property
    def job_count(self) -> int:
        return len(self._jobs)

    def start(self) -> None:
        self._schedule_pending()
        self._scheduler.start()
        log.info("scheduler started with %d probe jobs", self.job_count)

    def pause(self) -> None:
        """Start no new runs; runs already going carry on."""
        if self._scheduler.running:
            self._scheduler.pause()

    def shutdown(self) -> None:
        """Stop the scheduler. Its executor cancels runs still going, so
        drain them first (:meth:`pause`, then wait)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def _run_job(self, job: Job) -> None:
        planned = self._planned.pop(job.id, None)
        if planned is not None:
            lag_s = (datetime.now(UTC) - planned).total_seconds()
            self._metrics.scheduler_lag.labels(job.name).observe(max(lag_s, 0.0))
        limit_s = job.timeout_s + self._cut_slack_s
        try:
            async with asyncio.timeout(limit_s):
                await self._run(job)
        except TimeoutError:
            self._metrics.job_timeouts.labels(job.name).inc()
            log.warning(
                "%s %s: job cut after %.0f s; the next run is not held up",
                job.name,
                job.model,
                limit_s,
            )
        except Exception:
            log.exception("%s %s: job failed", job.name, job.model)

    async def _run_housekeeping(self, name: str, task: Housekeeping) -> None:
        try:
            await task()
        except DBAPIError as exc:
            cause = outage_cause(exc)
            if cause is None:
                log.exception("%s failed; it runs again at its next turn", name)
                return
            # The result writer already logs the outage; no traceback here.
            log.warning("%s skipped, database %s; it runs again later", name, cause)
        except Exception:
            log.exception("%s failed; it runs again at its next turn", name)

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        # Fired before the run's task first gets the loop, so _run_job finds
        # the planned time (jitter included) waiting for it.
        if event.job_id in self._jobs:
            self._planned[event.job_id] = event.scheduled_run_times[-1]

    def _on_overlap(self, event: JobSubmissionEvent) -> None:
        self._skipped(event.job_id, "overlap")

    def _on_missed(self, event: JobExecutionEvent) -> None:
        self._skipped(event.job_id, "missed")

    def _skipped(self, job_id: str, reason: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        self._metrics.skipped_runs.labels(job.name, reason).inc()
        log.warning("%s %s: run skipped (%s)", job.name, job.model, reason)
