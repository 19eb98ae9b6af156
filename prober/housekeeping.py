"""Background work over the database, every piece in a worker thread:
rollups every minute, the uptime gauges every minute, retention hourly."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from prober.catalog import Catalog
from prober.metrics import ProberMetrics
from prober.reads import Reads
from prober.scheduler import ProbeScheduler
from prober.uptime import WINDOWS, uptime
from storage.retention import prune
from storage.rollups import Rollups, RollupScope

__all__ = ["Housekeeping"]

log = logging.getLogger(__name__)

ROLLUP_INTERVAL_S = 60.0
UPTIME_INTERVAL_S = 60.0
RETENTION_INTERVAL_S = 3600.0


class Housekeeping:
    """Rollups, uptime gauges and retention for one prober's rows."""

    def __init__(
        self,
        reads: Reads,
        catalog: Catalog,
        metrics: ProberMetrics,
        vantage: str,
        shard: str | None,
    ) -> None:
        self._reads = reads
        self._catalog = catalog
        self._metrics = metrics
        self._vantage = vantage
        models = tuple(sorted(catalog.models)) if shard else None
        self.scope = RollupScope(f"{vantage}/{shard or 'all'}", vantage, models)
        self._rollups = Rollups(self.scope)

    def schedule(self, scheduler: ProbeScheduler) -> None:
        scheduler.every("rollups", ROLLUP_INTERVAL_S, self.rollups, first_in_s=20)
        scheduler.every("uptime", UPTIME_INTERVAL_S, self.uptime, first_in_s=15)
        scheduler.every(
            "retention", RETENTION_INTERVAL_S, self.retention, first_in_s=60
        )

    async def rollups(self) -> None:
        await self._reads.run(self._rollups.update)

    async def uptime(self) -> None:
        models = list(self._catalog.models)
        for window in WINDOWS:
            figures = await self._reads.run(
                uptime, self._catalog, window, None, self._vantage, models
            )
            for model, figure in figures.items():
                if figure.ratio is None:
                    continue
                provider = self._catalog.models[model].provider
                self._metrics.set_uptime(
                    model, provider, self._vantage, window, figure.ratio
                )

    async def retention(self) -> None:
        now = datetime.now(UTC)
        keep = self._catalog.retention
        await self._reads.run(
            prune,
            now - timedelta(days=keep.raw_days),
            now - timedelta(days=keep.rollup_days),
        )
