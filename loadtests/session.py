"""One Locust process's part in a prober load test, wired to Locust's events.

Every process (local, master or worker) has one :class:`LoadSession`:

* a worker measures requests and ships its samples to the master inside
  Locust's periodic worker report (``report_to_master`` / ``worker_report``);
* the master, or a process running alone, owns the :class:`RunRecorder`, the
  live ``/metrics`` server and the database, and applies the exit gates;
* any process stops sending once it has sent ``--paid-requests`` requests to
  a paid host, and has the whole test stopped (a worker asks the master with
  a custom message).

:func:`install` registers the listeners; the locustfile calls it once.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

import gevent
from gevent.pywsgi import WSGIServer
from locust.env import Environment
from locust.event import Events
from locust.runners import MasterRunner, WorkerRunner
from prometheus_client import make_wsgi_app
from sqlalchemy import Engine

from loadtests.metrics import LoadMetrics
from loadtests.plans import Stage
from loadtests.recorder import RunRecorder, RunResult, checks_set, failed_checks
from loadtests.samples import Sample
from loadtests.settings import DEFAULT_HOST, LoadSettings, add_arguments
from loadtests.traffic import Traffic
from prober.exceptions import ProberError

__all__ = ["LoadSession", "install", "session_of"]

log = logging.getLogger(__name__)

_SAMPLES_KEY = "prober_samples"
_PAID_LIMIT_MESSAGE = "prober_paid_limit"
_MAX_OUTBOX = 200_000
_SESSIONS: weakref.WeakKeyDictionary[Environment, LoadSession] = (
    weakref.WeakKeyDictionary()
)


def install(events: Events) -> None:
    events.init_command_line_parser.add_listener(add_arguments)
    events.init.add_listener(_on_init)


def session_of(environment: Environment) -> LoadSession:
    return _SESSIONS[environment]


def _on_init(environment: Environment, **_kwargs: Any) -> None:
    try:
        session = LoadSession(environment)
    except (ProberError, ValueError) as exc:
        log.error("cannot start the load test: %s", exc)
        raise SystemExit(2) from None
    _SESSIONS[environment] = session
    session.listen()


class LoadSession:
    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.settings = LoadSettings.from_options(environment.parsed_options)
        self.worker = isinstance(environment.runner, WorkerRunner)
        self.result: RunResult | None = None
        self._traffic: Traffic | None = None
        self._outbox: list[list[Any]] = []
        self._sent = 0
        self._limit_hit = False
        self._server: WSGIServer | None = None
        self._engine: Engine | None = None
        self.recorder: RunRecorder | None = None
        if not self.worker:
            self._open_master()

    def listen(self) -> None:
        events = self.environment.events
        runner = self.environment.runner
        if self.worker:
            events.report_to_master.add_listener(self._on_report_to_master)
            return
        events.worker_report.add_listener(self._on_worker_report)
        events.test_start.add_listener(self._on_test_start)
        events.test_stop.add_listener(self._on_test_stop)
        events.quitting.add_listener(self._on_quitting)
        if isinstance(runner, MasterRunner):
            runner.register_message(_PAID_LIMIT_MESSAGE, self._on_paid_limit)

    @property
    def running(self) -> bool:
        """True while a run is open (from its first stage to its end)."""
        return self.recorder is not None and self.recorder.running

    @property
    def host(self) -> str:
        return self.environment.host or DEFAULT_HOST

    # What users call.

    def traffic(self) -> Traffic:
        """The traffic for the current options and host; a worker gets both
        from the master when a run starts, so it is rebuilt when they change."""
        settings = LoadSettings.from_options(self.environment.parsed_options)
        host = self.host
        current = self._traffic
        if current is None or current.settings != settings or current.host != host:
            self._traffic = current = Traffic.build(settings, host)
        return current

    def may_send(self, traffic: Traffic) -> bool:
        """Count one request; False once a paid host's budget is spent."""
        if not traffic.paid:
            return True
        if self._sent >= traffic.settings.paid_requests:
            self._paid_limit_reached(traffic.settings.paid_requests)
            return False
        self._sent += 1
        return True

    def sample(self, sample: Sample) -> None:
        if self.recorder is not None:
            self.recorder.add(sample)
        elif len(self._outbox) < _MAX_OUTBOX:
            self._outbox.append(sample.to_wire())

    # What the shape calls.

    def run_started(self, shape: str, settings: LoadSettings) -> None:
        assert self.recorder is not None, "shapes run on the master"
        self.settings = settings
        self.result = None
        self.recorder.start(shape, self.host, time.time(), settings)

    def stage_started(
        self, index: int, stage: Stage, at: float, users_start: int
    ) -> None:
        assert self.recorder is not None
        self.recorder.stage_started(index, stage, at, users_start)

    def plan_ended(self, at: float) -> None:
        assert self.recorder is not None
        self.recorder.plan_ended(at)

    def verdict(self, index: int) -> bool | None:
        assert self.recorder is not None
        return self.recorder.verdict(index, time.time())

    # The master's side.

    def _open_master(self) -> None:
        traffic = self.traffic()
        metrics = LoadMetrics(traffic.provider, traffic.vantage)
        metrics.prepare(traffic.mix.pairs())
        if not self.settings.no_store:
            self._engine = _open_database(traffic.database)
        self.recorder = RunRecorder(
            self.settings,
            traffic.provider,
            traffic.vantage,
            metrics,
            self._engine,
            cost=lambda sample: self.traffic().cost(sample),
        )
        self._server = _serve_metrics(self.settings.metrics_listen, metrics)

    def _on_test_start(self, **_kwargs: Any) -> None:
        if self.environment.shape_class is None:
            log.warning("no prober shape is running: this run is not recorded")

    def _on_test_stop(self, **_kwargs: Any) -> None:
        assert self.recorder is not None
        result = self.recorder.finish(time.time())
        if result is not None:
            self.result = result
            _log_result(result)

    def _on_quitting(self, environment: Environment, **_kwargs: Any) -> None:
        self._on_test_stop()
        failed = failed_checks(self.settings, self.result)
        for message in failed:
            log.error("check failed: %s", message)
        if self._limit_hit:
            environment.process_exit_code = 1
        elif checks_set(self.settings):
            environment.process_exit_code = 1 if failed else 0
        if self._server is not None:
            self._server.stop(timeout=1)
        if self._engine is not None:
            self._engine.dispose()

    def _on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        assert self.recorder is not None
        rows = data.get(_SAMPLES_KEY) or ()
        self.recorder.add_all(Sample.from_wire(row) for row in rows)

    def _on_paid_limit(
        self, environment: Environment, msg: Any, **_kwargs: Any
    ) -> None:
        log.error("worker %s spent its --paid-requests budget", msg.node_id)
        self._stop_test()

    # The worker's side.

    def _on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        data[_SAMPLES_KEY], self._outbox = self._outbox, []

    def _paid_limit_reached(self, limit: int) -> None:
        if self._limit_hit:
            return
        self._limit_hit = True
        log.error(
            "sent %d requests to a paid host, the --paid-requests limit: stopping "
            "the test (raise the limit to send more)",
            limit,
        )
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner):
            runner.send_message(_PAID_LIMIT_MESSAGE, {"limit": limit})
        else:
            self._stop_test()

    def _stop_test(self) -> None:
        self._limit_hit = True
        runner = self.environment.runner
        if runner is not None:
            # Not from the calling greenlet: quitting kills the users, and
            # the caller may be one of them.
            gevent.spawn(runner.quit)


def _open_database(database: str) -> Engine:
    from storage import create_schema, make_engine

    # Alembic's own INFO lines say nothing a capacity test's operator needs;
    # storage logs the migration itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    engine = make_engine(database)
    create_schema(engine)
    return engine


def _serve_metrics(listen: str, metrics: LoadMetrics) -> WSGIServer | None:
    if listen == "off":
        return None
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--metrics-listen: {listen!r}: not HOST:PORT or 'off'")
    server = WSGIServer((host, int(port)), make_wsgi_app(metrics.registry), log=None)
    server.start()
    log.info(
        "serving load-test metrics on http://%s:%d/metrics", host, server.server_port
    )
    return server


def _log_result(result: RunResult) -> None:
    overall = result.overall
    log.info(
        "load run %s done: %d requests, error rate %s, TTFT p95 %s s",
        result.run_id,
        overall.requests,
        "-" if overall.error_rate is None else f"{overall.error_rate:.3f}",
        "-" if overall.ttft_p95_s is None else f"{overall.ttft_p95_s:.3f}",
    )
    knee = result.knee
    if knee is not None:
        log.info(
            "knee: %s users (%s), %s",
            knee.users if knee.users is not None else "below the first step",
            "-" if knee.request_rate is None else f"{knee.request_rate:.2f} req/s",
            "saturated above it" if knee.saturated else "no step missed the SLO",
        )
