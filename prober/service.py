"""`prober run`: the long-running service, wired together.

Start-up is a list of named steps (simulator, storage, metrics, web,
probing); shutdown runs them backwards, draining probes in flight and
flushing every queued row before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from prober.catalog import Catalog
from prober.client import StreamingClient
from prober.context import PROBE as CONTEXT_PROBE
from prober.context import ContextMetrics, ContextSweeper
from prober.embedded import EmbeddedSimulator, attach_simulator
from prober.exceptions import ConfigError
from prober.grader import GradingPool
from prober.metrics import ProberMetrics
from prober.runner import ProbeRun, Runner
from prober.scheduler import ProbeScheduler
from prober.web import create_app
from storage import ResultWriter, SweepWriter, create_schema, make_engine

__all__ = ["Service", "ServiceOptions", "parse_listen"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    database: str
    listen: str
    vantage: str = "local"
    drain_grace_s: float = 30.0
    spill_path: Path | None = None


def parse_listen(value: str, source: str = "--listen") -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(source, None, f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


class Service:
    """Everything `prober run` starts, and stops again in reverse."""

    def __init__(
        self,
        catalog: Catalog,
        options: ServiceOptions,
        grading: GradingPool | None = None,
    ) -> None:
        self.catalog = catalog
        self.options = options
        self._grading = grading
        self.metrics = ProberMetrics()
        self.context_metrics = ContextMetrics(self.metrics.registry)
        self.listen_port: int | None = None
        self._simulator: EmbeddedSimulator | None = None
        self._writer: ResultWriter | None = None
        self._sweep_writer: SweepWriter | None = None
        self._sweeper: ContextSweeper | None = None
        self._web: web.AppRunner | None = None
        self._client: StreamingClient | None = None
        self._scheduler: ProbeScheduler | None = None
        self._runner: Runner | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._model_ok: dict[str, bool] = {}
        self._stopped = False

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set or SIGINT/SIGTERM arrives."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            await stop.wait()
            log.info("stopping; a second signal cuts probes in flight")
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._cut_inflight)
            await self.stop()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self.stop()

    async def start(self) -> None:
        await self._start_simulator()
        await self._start_storage()
        await self._start_web()
        await self._start_probing()

    async def stop(self) -> None:
        """Drain, flush and close everything; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._scheduler is not None:
            self._scheduler.pause()
        await self._drain()
        if self._scheduler is not None:
            self._scheduler.shutdown()
        if self._client is not None:
            await self._client.close()
        if self._grading is not None:
            self._grading.close()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
        if self._sweep_writer is not None:
            await asyncio.to_thread(self._sweep_writer.close)
        if self._web is not None:
            await self._web.cleanup()
        if self._simulator is not None:
            await self._simulator.stop()
        log.info("stopped")

    async def _start_simulator(self) -> None:
        self.catalog, self._simulator = await attach_simulator(self.catalog)

    async def _start_storage(self) -> None:
        engine = make_engine(self.options.database)
        await asyncio.to_thread(create_schema, engine)
        spill = self.options.spill_path or _default_spill(self.options.database)
        self._writer = ResultWriter(engine, spill)
        self._writer.start()
        self._sweep_writer = SweepWriter(engine, spill)
        self._sweep_writer.start()
        writer = self._writer
        self.metrics.track(
            "prober_writer_queue_rows",
            "Result rows waiting to be written to the database.",
            lambda: writer.queue_depth,
        )
        self.metrics.track(
            "prober_writer_spilled_rows",
            "Result rows moved to the spill file since start.",
            lambda: writer.spilled_total,
        )
        log.info(
            "storing results in %s", engine.url.render_as_string(hide_password=True)
        )

    async def _start_web(self) -> None:
        host, port = parse_listen(self.options.listen)
        self._web = web.AppRunner(create_app(self.metrics), access_log=None)
        await self._web.setup()
        site = web.TCPSite(self._web, host, port)
        await site.start()
        self.listen_port = _bound_port(self._web, port)
        log.info("serving /metrics on http://%s:%d", host, self.listen_port)

    async def _start_probing(self) -> None:
        self.catalog.require_keys()
        self._client = StreamingClient()
        await self._client.__aenter__()
        self._runner = Runner(
            self.catalog, self._client, self.options.vantage, self._grading
        )
        self._sweeper = ContextSweeper(self._runner, self.options.vantage)
        scheduled = self.catalog.scheduled()
        self.metrics.prepare(
            [(m, self.catalog.models[m].provider, p) for m, p, _ in scheduled],
            self.options.vantage,
        )
        self._scheduler = ProbeScheduler(self._probe)
        for model, probe, interval_s in scheduled:
            jitter = self.catalog.probes[probe].jitter_s
            self._scheduler.add(model, probe, interval_s, jitter)
        self._scheduler.start()
        log.info(
            "probing %d models with %d jobs",
            len(self.catalog.models),
            len(scheduled),
        )

    async def _probe(self, model: str, probe: str) -> None:
        assert self._runner is not None
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        try:
            if probe == CONTEXT_PROBE:
                await self._sweep(model)
                return
            run = await self._runner.run(model, probe)
        except asyncio.CancelledError:
            log.info("%s %s cut short at shutdown", probe, model)
            return
        finally:
            self._inflight.discard(task)
        self._record(run)

    async def _sweep(self, model: str) -> None:
        """A context sweep: each request recorded as it ends, then the
        derived figures stored and shown on the context gauges."""
        assert self._sweeper is not None and self._sweep_writer is not None
        sweep = await self._sweeper.sweep(model, self._record_sweep_request)
        self._sweep_writer.submit(sweep.row(), sweep.cell_rows())
        self.context_metrics.observe(sweep)

    def _record_sweep_request(self, run: ProbeRun) -> None:
        # A long prompt timing out says nothing about whether the model is
        # up, so sweep requests leave the up gauge and the up/down log alone.
        self.metrics.observe(run.record, datetime.now(UTC).timestamp(), False)
        assert self._writer is not None
        self._writer.submit(dict(run.record))

    def _record(self, run: ProbeRun) -> None:
        record = run.record
        self.metrics.observe(record, datetime.now(UTC).timestamp())
        assert self._writer is not None
        self._writer.submit(dict(record))
        self._log_state(record)

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

    def _cut_inflight(self) -> None:
        for task in self._inflight:
            task.cancel()

    async def _drain(self) -> None:
        if not self._inflight:
            return
        log.info("waiting for %d probes in flight", len(self._inflight))
        _, pending = await asyncio.wait(
            set(self._inflight), timeout=self.options.drain_grace_s
        )
        for task in pending:
            task.cancel()
        if pending:
            log.warning(
                "cut %d probes still running after the grace period", len(pending)
            )
            await asyncio.wait(pending, timeout=1.0)


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    """The real port, when ``requested`` was 0."""
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    return requested


def _default_spill(database: str) -> Path:
    if "://" not in database:
        return Path(database + ".spill")
    if database.startswith("sqlite:///"):
        return Path(database.removeprefix("sqlite:///") + ".spill")
    return Path("prober.spill")
