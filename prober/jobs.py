"""What one scheduled run does: check the budget, pick the probe, run it
within its deadline, and record the result everywhere it goes (database,
metrics, budget, quality gauges, the up/down log line)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from prober.budget import DailyBudget
from prober.catalog import Catalog
from prober.metrics import ProberMetrics
from prober.plan import Job
from prober.runner import ProbeRun, Runner
from storage import ResultWriter

__all__ = ["JobRunner"]

log = logging.getLogger(__name__)


class JobRunner:
    """The function the scheduler calls for every run of every job."""

    def __init__(
        self,
        runner: Runner,
        writer: ResultWriter,
        metrics: ProberMetrics,
        budget: DailyBudget,
        vantage: str,
    ) -> None:
        self._runner = runner
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
        probe = job.next_probe()
        run = await self._runner.run(job.model, probe, deadline_s=job.timeout_s)
        if run.cut:
            self._metrics.job_timeouts.labels(job.name).inc()
        self.record(run)

    def record(self, run: ProbeRun) -> None:
        """Store and count one finished probe; the row goes first so that
        nothing later can lose it."""
        record = run.record
        self._writer.submit({**record, "answer": run.answer or None})
        now = datetime.now(UTC)
        self._metrics.observe(record, now.timestamp())
        self._budget.add(record["cost_usd"], now)
        if record["quality"] is not None:
            self._set_quality(record)
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
