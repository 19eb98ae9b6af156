"""`prober run`: the long-running service, wired together.

Start-up is a list of named steps (simulator, storage and its migrations,
the budget, the web app, probing and housekeeping); shutdown runs them
backwards, draining probes in flight and flushing every queued row before
the process exits. With ``shard`` set, only this prober's share of the
catalog is probed, while the API and status page show the whole catalog
from the shared database.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from prober.api import ApiContext
from prober.budget import DailyBudget, estimate_daily_spend
from prober.catalog import CONTEXT, Catalog
from prober.client import StreamingClient
from prober.context import ContextMetrics, ContextSweeper
from prober.dblock import DatabaseLock, sqlite_path
from prober.embedded import EmbeddedSimulator, attach_simulator
from prober.exceptions import ConfigError, SetupError
from prober.exposure import TOKEN_ENV, check_listen
from prober.grader import GradingPool
from prober.housekeeping import Housekeeping
from prober.jobs import JobRunner, SweepRecorder
from prober.metrics import ProberMetrics
from prober.plan import Job, build_plan
from prober.reads import Reads
from prober.runner import Runner
from prober.scheduler import ProbeScheduler
from prober.web import Readiness, create_app
from storage import ResultWriter, SweepWriter, make_engine
from storage.migrate import upgrade
from storage.stats import last_started, spend_since, token_averages
from storage.sweeps import last_sweeps

__all__ = ["Service", "ServiceOptions", "parse_listen", "settle_heap"]

log = logging.getLogger(__name__)

_OBSERVED_TOKENS_DAYS = 7
_WRITE_BUSY_TIMEOUT_S = 5.0


def settle_heap() -> None:
    """After start-up: collect once, then freeze what survived (catalog,
    jobs, metric children, imported modules) so no later collection walks
    it again.

    Without this, full collections walk every object start-up made, and
    their pauses (100-300 ms at 1,000 jobs) land in the event loop that
    times probes. Python's collection thresholds stay as they are: raising
    them made each young collection longer (up to 55 ms against 11 ms in
    the scheduler benchmark). Process-wide: ``prober run`` calls it once.
    """
    gc.collect()
    gc.freeze()
    log.debug("heap settled: %d objects frozen", gc.get_freeze_count())


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    database: str
    listen: str
    vantage: str = "local"
    drain_grace_s: float = 30.0
    spill_path: Path | None = None
    shard: str | None = None
    daily_budget_usd: float | None = None
    allow_remote: bool = False
    api_token: str | None = None
    """Bearer token for the API and status page (from ``PROBER_API_TOKEN``)."""
    max_pending_rows: int = 10_000
    """Result rows held in memory while the database is away; older ones
    go to the spill file."""


def _check_port_free(host: str, port: int, where: str) -> None:
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise SetupError(f"cannot listen on {where}: {reason}") from None


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
        self.full_catalog = catalog
        self.catalog = catalog.shard(options.shard)
        self.options = options
        self._grading = grading
        self.metrics = ProberMetrics()
        self.context_metrics = ContextMetrics(self.metrics.registry)
        self.listen_port: int | None = None
        self.plan: list[Job] = []
        self.budget = DailyBudget(options.daily_budget_usd, self.metrics)
        self._lock: DatabaseLock | None = None
        self._simulator: EmbeddedSimulator | None = None
        self._writer: ResultWriter | None = None
        self._reads: Reads | None = None
        self._sweep_writer: SweepWriter | None = None
        self._web: web.AppRunner | None = None
        self._client: StreamingClient | None = None
        self._scheduler: ProbeScheduler | None = None
        self._jobs: JobRunner | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._runs_started = 0
        self._runs_cut = 0
        # Past the database lock: from there on, stop has work to do.
        self._began = False
        self._started = False
        self._stopped = False

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set or SIGINT/SIGTERM arrives."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            settle_heap()
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
        await self._check_exposure()
        # A provider without its key is refused before anything starts.
        self.catalog.require_keys()
        self._lock_database()
        self._began = True
        await self._start_simulator()
        await self._start_storage()
        await self._start_budget()
        await self._start_web()
        await self._start_probing()
        self._started = True

    async def stop(self) -> None:
        """Drain, flush and close everything; safe to call twice."""
        if self._stopped or not self._began:
            return
        self._stopped = True
        self._started = False
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
        if self._reads is not None:
            await asyncio.to_thread(self._reads.close)
        if self._simulator is not None:
            await self._simulator.stop()
        if self._lock is not None:
            self._lock.release()
        log.info(
            "stopped after %d probe runs, %d of them cut short at shutdown",
            self._runs_started,
            self._runs_cut,
        )

    def readiness(self) -> Readiness:
        """Ready while started and the database answers."""
        writer = self._writer
        database_up = writer is not None and writer.healthy
        return Readiness(
            ready=self._started and database_up,
            checks={
                "started": self._started,
                "database": database_up,
            },
            queue_rows=writer.queue_depth if writer else 0,
            spill_file_rows=writer.spill_rows if writer else 0,
        )

    async def _check_exposure(self) -> None:
        host, port = parse_listen(self.options.listen)
        # Deciding may resolve a host name: off the event loop.
        loopback = await asyncio.to_thread(
            check_listen, host, port, self.options.allow_remote
        )
        if port:
            # A port already taken is refused before the simulator starts or
            # the database is touched; the site binds it again later.
            await asyncio.to_thread(_check_port_free, host, port, self.options.listen)
        if not loopback and self.options.api_token is None:
            log.warning(
                "serving the API and status page on %s without %s: anyone who "
                "reaches this address can read every result",
                self.options.listen,
                TOKEN_ENV,
            )

    def _lock_database(self) -> None:
        """One service per SQLite file (see :mod:`prober.dblock`)."""
        path = sqlite_path(self.options.database)
        if path is not None:
            lock = DatabaseLock(path)
            lock.acquire()
            self._lock = lock

    async def _start_simulator(self) -> None:
        self.catalog, self._simulator = await attach_simulator(self.catalog)

    async def _start_storage(self) -> None:
        engine = make_engine(self.options.database)
        where = engine.url.render_as_string(hide_password=True)
        try:
            await asyncio.to_thread(upgrade, engine)
        except SQLAlchemyError as exc:
            raise SetupError(f"cannot prepare the database {where}: {exc}") from exc
        spill = self.options.spill_path or _default_spill(self.options.database)
        # A SQLite write lock held elsewhere for longer than this counts as
        # the database being away: rows head for the spill file, and a
        # writer stuck on the lock cannot outlast the flush at shutdown.
        writes = make_engine(
            self.options.database, busy_timeout_s=_WRITE_BUSY_TIMEOUT_S
        )
        self._writer = ResultWriter(
            writes, spill, max_pending=self.options.max_pending_rows
        )
        self._writer.start()
        self.metrics.track_writer(self._writer)
        self._sweep_writer = SweepWriter(writes, spill)
        self._sweep_writer.start()
        self._reads = Reads(engine)
        log.info("storing results in %s", where)

    async def _start_budget(self) -> None:
        assert self._reads is not None
        self.plan = build_plan(self.catalog)
        now = datetime.now(UTC)
        observed = await self._reads.run(
            token_averages, now - timedelta(days=_OBSERVED_TOKENS_DAYS)
        )
        estimate = estimate_daily_spend(self.plan, self.catalog, observed)
        self.metrics.budget_estimate.set(estimate.total_usd)
        log.info(
            "estimated daily spend of this schedule at catalog prices: %.4f USD "
            "for %.0f probes a day (%.0f%% priced from observed token counts, "
            "the rest at each task's max_tokens)",
            estimate.total_usd,
            estimate.runs_per_day,
            estimate.observed_share * 100,
        )
        limit = self.budget.limit_usd
        if limit is not None and estimate.total_usd > limit:
            log.warning(
                "the daily budget of %.4f USD is below the estimate: every probe "
                "but ping will pause once it is spent",
                limit,
            )
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        spent = await self._reads.run(
            spend_since, midnight, self.options.vantage, list(self.catalog.models)
        )
        self.budget.restore(sum(spent.values()), midnight.date())

    async def _start_web(self) -> None:
        assert self._reads is not None
        host, port = parse_listen(self.options.listen)
        api = ApiContext(
            reads=self._reads,
            catalog=self.full_catalog,
            probed=frozenset(self.catalog.models),
            vantage=self.options.vantage,
        )
        app = create_app(self.metrics, self.readiness, api, self.options.api_token)
        self._web = web.AppRunner(app, access_log=None)
        await self._web.setup()
        site = web.TCPSite(self._web, host, port)
        try:
            await site.start()
        except OSError as exc:
            # asyncio's message repeats the address; the errno's text is enough.
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            where = self.options.listen
            raise SetupError(f"cannot listen on {where}: {reason}") from exc
        self.listen_port = _bound_port(self._web, port)
        log.info("serving /metrics on http://%s:%d", host, self.listen_port)

    async def _start_probing(self) -> None:
        assert self._writer is not None and self._reads is not None
        if self._grading is not None:
            await self._grading.start()
        self._client = StreamingClient()
        await self._client.__aenter__()
        runner = Runner(self.catalog, self._client, self.options.vantage, self._grading)
        assert self._sweep_writer is not None
        sweeps = SweepRecorder(
            ContextSweeper(runner, self.options.vantage),
            self._sweep_writer,
            self.context_metrics,
        )
        self._jobs = JobRunner(
            runner,
            self._writer,
            self.metrics,
            self.budget,
            self.options.vantage,
            sweeps,
        )
        self.metrics.prepare(self._targets(), self.options.vantage)
        self.metrics.prepare_schedule({job.name for job in self.plan})
        self._scheduler = ProbeScheduler(
            self._run_job, self.metrics, self.catalog.schedule.misfire_grace_s
        )
        last = await self._last_runs()
        for job in self.plan:
            self._scheduler.add(job, last.get(job.id))
        Housekeeping(
            self._reads,
            self.catalog,
            self.metrics,
            self.options.vantage,
            self.options.shard,
        ).schedule(self._scheduler)
        self._scheduler.start()
        log.info(
            "probing %d models with %d jobs", len(self.catalog.models), len(self.plan)
        )

    async def _last_runs(self) -> dict[str, datetime]:
        """When each expensive job last ran (from the database), so a restart
        resumes the schedule instead of paying for every job again."""
        assert self._reads is not None
        longest = max((job.interval_s for job in self.plan), default=0.0)
        since = datetime.now(UTC) - timedelta(seconds=longest)
        started = await self._reads.run(last_started, since, self.options.vantage)
        # A sweep counts once it finished: one cut short by a stop left its
        # requests' rows but no figures, and runs again at the next start.
        swept = await self._reads.run(last_sweeps, since, self.options.vantage)
        last = {}
        for job in self.plan:
            if job.name == CONTEXT:
                times = [swept[job.model]] if job.model in swept else []
            else:
                times = [started[(job.model, p)] for p in job.probes
                         if (job.model, p) in started]  # fmt: skip
            if job.expensive and times:
                last[job.id] = max(times)
        return last

    def _targets(self) -> list[tuple[str, str, str]]:
        return [
            (job.model, self.catalog.models[job.model].provider, probe)
            for job in self.plan
            for probe in job.probes
        ]

    async def _run_job(self, job: Job) -> None:
        assert self._jobs is not None
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        self._runs_started += 1
        try:
            await self._jobs(job)
        except asyncio.CancelledError:
            # Only shutdown cancels a run (its own deadline is a timeout,
            # handled below it); finish quietly so no traceback is logged.
            self._runs_cut += 1
            log.info("%s %s cut short at shutdown", job.name, job.model)
        finally:
            self._inflight.discard(task)

    def _cut_inflight(self) -> None:
        for task in self._inflight:
            task.cancel()

    async def _drain(self) -> None:
        if not self._inflight:
            return
        log.info(
            "waiting up to %.0f s for %d probes in flight (a second signal cuts them)",
            self.options.drain_grace_s,
            len(self._inflight),
        )
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
