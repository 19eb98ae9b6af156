"""What one scheduled run does: check the budget, pick the probe, run it
within its deadline, and record the result everywhere it goes (database,
metrics, budget, quality gauges, the up/down log line)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prober.budget import DailyBudget
from prober.catalog import CONTEXT, Catalog
from prober.context import ContextMetrics, ContextSweeper
from prober.metrics import ProberMetrics
from prober.plan import Job
from prober.runner import ProbeRun, Runner
from storage import ResultWriter, SweepWriter

__all__ = ["JobRunner", "SweepRecorder"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweepRecorder:
    """What a context job needs beyond a probe: the sweeper, the writer of
    the derived figures, and the gauges showing them."""

    sweeper: ContextSweeper
    writer: SweepWriter
    metrics: ContextMetrics


class JobRunner:
    """The function the scheduler calls for every run of every job."""

    def __init__(
        self,
        runner: Runner,
        writer: ResultWriter,
        metrics: ProberMetrics,
        budget: DailyBudget,
        vantage: str,
        sweeps: SweepRecorder | None = None,
    ) -> None:
        self._runner = runner
        self._sweeps = sweeps
        self._writer = writer
        self._metrics = metrics
        self._budget = budget
        self._vantage = vantage
        self._model_ok: dict[str, bool] = {}
        self._quality: dict[tuple[str, str], float] = {}

    @property
    def catalog(self) -> Catalog:
        return self._runner.catalog

    async def __call__(self, job: Job) -> None:
        if not self._budget.allows(job):
            self._metrics.skipped_runs.labels(job.name, "budget").inc()
            log.debug("%s %s: skipped, daily budget spent", job.name, job.model)
            return
        if job.name == CONTEXT and self._sweeps is not None:
            await self._sweep(job)
            return
        probe = job.next_probe()
        run = await self._runner.run(job.model, probe, deadline_s=job.timeout_s)
        self._count_cut(job, run)
        self.record(run)

    async def _sweep(self, job: Job) -> None:
        """A context sweep: each request recorded as it ends, each within the
        job's deadline, then the derived figures stored and shown."""
        assert self._sweeps is not None

        def record_step(run: ProbeRun) -> None:
            self._count_cut(job, run)
            # A long prompt timing out says nothing about whether the model
            # is up: sweep requests leave the up gauge and log line alone.
            self.record(run, liveness=False)

        result = await self._sweeps.sweeper.sweep(
            job.model, record_step, deadline_s=job.timeout_s
        )
        self._sweeps.writer.submit(result.row(), result.cell_rows())
        self._sweeps.metrics.observe(result)

    def _count_cut(self, job: Job, run: ProbeRun) -> None:
        if run.cut:
            self._metrics.job_timeouts.labels(job.name).inc()

    def record(self, run: ProbeRun, liveness: bool = True) -> None:
        """Store and count one finished probe; the row goes first so that
        nothing later can lose it."""
        record = run.record
        self._writer.submit({**record, "answer": run.answer or None})
        now = datetime.now(UTC)
        self._metrics.observe(record, now.timestamp(), liveness)
        self._budget.add(record["cost_usd"], now)
        if record["quality"] is not None:
            self._set_quality(record)
        if liveness:
            self._log_state(record)

    def _set_quality(self, record: dict[str, Any]) -> None:
        model, provider, probe = record["model"], record["provider"], record["probe"]
        score = float(record["quality"])
        self._metrics.set_quality(model, provider, probe, self._vantage, score)
        self._quality[(model, probe)] = score
        price = self.catalog.models[model].price_per_mtok
        latest = [q for (m, _), q in self._quality.items() if m == model]
        if price:
            value = sum(latest) / len(latest) / price
            self._metrics.set_value(model, provider, self._vantage, value)

    def _log_state(self, record: dict[str, Any]) -> None:
        model, ok = record["model"], bool(record["ok"])
        before = self._model_ok.get(model)
        self._model_ok[model] = ok
        if before is ok:
            return
        if ok:
            log.info(
                "%s is up (probe %s, ttft %.3f s)",
                model,
                record["probe"],
                record["ttft_s"],
            )
        else:
            log.warning(
                "%s is down (probe %s): %s: %s",
                model,
                record["probe"],
                record["error_type"],
                record["error_message"],
            )
