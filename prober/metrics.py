"""Every Prometheus metric prober exports, defined in one place.

Names carry base units (``_seconds``, ``_total``); latencies are histograms
whose buckets run from milliseconds to ten minutes, because a reasoning model
at a long prompt can take minutes; quantiles come from ``histogram_quantile``
on the server, never from client-side summaries.

Labels stay bounded: ``model``, ``provider``, ``probe``, ``vantage`` (one per
process), ``error_type``, ``phase``, ``window`` and ``reason`` (closed sets).
Never a prompt, an answer or a request id. :meth:`ProberMetrics.prepare`
fixes the (model, provider, probe) triples a process may report; a record
outside them is logged and left out of the metrics rather than growing a
series.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from prober.outcome import ErrorType

__all__ = [
    "ERROR_TYPES",
    "LATENCY_BUCKETS",
    "PHASES",
    "SKIP_REASONS",
    "UPTIME_WINDOWS",
    "ProberMetrics",
    "WriterState",
]

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0,
    5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0,
    600.0,
)  # fmt: skip
ITL_BUCKETS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075,
    0.1, 0.15, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
SPEED_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000)
LAG_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
PHASES = ("dns", "connect", "headers")
ERROR_TYPES = frozenset(str(kind) for kind in ErrorType)
UPTIME_WINDOWS = ("1h", "24h", "7d", "30d")
SKIP_REASONS = ("overlap", "missed", "budget")

PROBE_LABELS = ("model", "provider", "probe", "vantage")
MODEL_LABELS = ("model", "provider", "vantage")


class ProberMetrics:
    """The metric families, registered in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # The *_created series double the size of every scrape and say
        # nothing the process start time does not (a process-wide switch).
        disable_created_metrics()
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "prober_requests_total",
            "Probe requests sent, whatever their outcome.",
            PROBE_LABELS,
            registry=r,
        )
        self.errors = Counter(
            "prober_errors_total",
            "Probe requests that failed, by error type.",
            (*PROBE_LABELS, "error_type"),
            registry=r,
        )
        self.ttft = self._latency("prober_ttft_seconds", "Time to first token.")
        self.ttfa = self._latency(
            "prober_ttfa_seconds", "Time to first answer (visible content) token."
        )
        self.e2e = self._latency(
            "prober_e2e_seconds", "Request start to the end of the stream."
        )
        self.itl = Histogram(
            "prober_itl_seconds",
            "Inter-token latency: generation time per output token.",
            PROBE_LABELS,
            buckets=ITL_BUCKETS,
            registry=r,
        )
        self.phase = Histogram(
            "prober_phase_seconds",
            "Connection phases: DNS, TCP and TLS connect, time to response headers.",
            (*PROBE_LABELS, "phase"),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.speed = Histogram(
            "prober_output_tokens_per_second",
            "Output speed after the first token.",
            PROBE_LABELS,
            buckets=SPEED_BUCKETS,
            registry=r,
        )
        self.input_tokens = Counter(
            "prober_input_tokens_total", "Prompt tokens sent.", PROBE_LABELS, registry=r
        )
        self.output_tokens = Counter(
            "prober_output_tokens_total",
            "Output tokens received.",
            PROBE_LABELS,
            registry=r,
        )
        self.cost = Counter(
            "prober_cost_usd_total",
            "Spend on probes at catalog prices, in US dollars.",
            PROBE_LABELS,
            registry=r,
        )
        self.up = Gauge(
            "prober_model_up",
            "1 if the model's latest probe succeeded, 0 if it failed.",
            MODEL_LABELS,
            registry=r,
        )
        self.last_success = Gauge(
            "prober_last_success_timestamp_seconds",
            "Unix time of the model's latest successful probe.",
            MODEL_LABELS,
            registry=r,
        )

        self._define_scores()
        self._define_scheduling()
        self._define_budget()
        self._allowed: set[tuple[str, str, str, str]] | None = None

    def _define_scores(self) -> None:
        r = self.registry
        self.quality = Gauge(
            "prober_quality_score",
            "Latest graded quality of the model's answer to the probe, 0 to 10.",
            PROBE_LABELS,
            registry=r,
        )
        self.value = Gauge(
            "prober_value_score",
            "Measured quality per USD of price per million output tokens.",
            MODEL_LABELS,
            registry=r,
        )
        self.uptime = Gauge(
            "prober_uptime_ratio",
            "Successful probes over successful plus failed ones in the window, "
            "rate-limited probes and maintenance windows left out.",
            (*MODEL_LABELS, "window"),
            registry=r,
        )

    def _define_scheduling(self) -> None:
        r = self.registry
        self.scheduler_lag = Histogram(
            "prober_scheduler_lag_seconds",
            "How late a scheduled run started against its planned time.",
            ("probe",),
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.skipped_runs = Counter(
            "prober_scheduler_skipped_runs_total",
            "Scheduled runs not made: the previous run still going (overlap), "
            "later than the misfire grace time (missed), or the budget spent.",
            ("probe", "reason"),
            registry=r,
        )
        self.job_timeouts = Counter(
            "prober_job_timeouts_total",
            "Scheduled runs cut at their hard timeout.",
            ("probe",),
            registry=r,
        )

    def _define_budget(self) -> None:
        r = self.registry
        self.budget_spent = Gauge(
            "prober_budget_spent_usd",
            "Spend of this prober today (UTC) at catalog prices.",
            registry=r,
        )
        self.budget_limit = Gauge(
            "prober_budget_limit_usd",
            "The daily budget; +Inf when none is set.",
            registry=r,
        )
        self.budget_paused = Gauge(
            "prober_budget_paused",
            "1 while the daily budget is spent and every probe but ping waits.",
            registry=r,
        )
        self.budget_estimate = Gauge(
            "prober_budget_estimated_daily_usd",
            "Estimated daily spend of the configured schedule at catalog prices.",
            registry=r,
        )

    def _latency(self, name: str, documentation: str) -> Histogram:
        return Histogram(
            name, documentation, PROBE_LABELS, buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )  # fmt: skip

    def prepare(self, targets: list[tuple[str, str, str]], vantage: str) -> None:
        """Create every (model, provider, probe) child up front, so series
        exist at zero before the first probe and rates start from there.

        These triples are then the only ones :meth:`observe` reports."""
        self._allowed = set()
        for model, provider, probe in targets:
            labels = (model, provider, probe, vantage)
            self._allowed.add(labels)
            for family in (self.requests, self.ttft, self.ttfa, self.e2e):
                family.labels(*labels)
            for family in (self.itl, self.speed, self.cost):
                family.labels(*labels)
            for family in (self.input_tokens, self.output_tokens):
                family.labels(*labels)

    def observe(
        self, record: Mapping[str, Any], timestamp_s: float, liveness: bool = True
    ) -> None:
        """Count one result record; with ``liveness`` false (a context sweep's
        long prompts) it leaves the model's up and last-success gauges be."""
        labels = (
            record["model"],
            record["provider"],
            record["probe"],
            record["vantage"],
        )
        if not self._bounded(labels, record["error_type"]):
            return
        self.requests.labels(*labels).inc()
        if not record["ok"]:
            self.errors.labels(*labels, record["error_type"]).inc()
        if record["ok"]:
            # Latency is reported over successful probes, beside the error
            # rate; a timed-out request has no meaningful TTFT or speed.
            _observe(self.ttft, labels, record["ttft_s"])
            _observe(self.ttfa, labels, record["ttfa_s"])
            _observe(self.itl, labels, record["itl_s"])
            _observe(self.speed, labels, record["output_tokens_per_s"])
            _observe(self.e2e, labels, record["e2e_s"])
        for phase in PHASES:
            value = record.get(f"{phase}_s")
            if value is not None:
                self.phase.labels(*labels, phase).observe(value)
        _add(self.input_tokens, labels, record["input_tokens"])
        _add(self.output_tokens, labels, record["output_tokens"])
        _add(self.cost, labels, record["cost_usd"])

        if not liveness:
            return
        model_labels = (record["model"], record["provider"], record["vantage"])
        self.up.labels(*model_labels).set(1 if record["ok"] else 0)
        if record["ok"]:
            self.last_success.labels(*model_labels).set(timestamp_s)

    def set_quality(
        self, model: str, provider: str, probe: str, vantage: str, score: float
    ) -> None:
        """Record the latest graded quality (0-10) of a model's answer."""
        if self._bounded((model, provider, probe, vantage), None):
            self.quality.labels(model, provider, probe, vantage).set(score)

    def set_value(self, model: str, provider: str, vantage: str, value: float) -> None:
        self.value.labels(model, provider, vantage).set(value)

    def set_uptime(
        self, model: str, provider: str, vantage: str, window: str, ratio: float
    ) -> None:
        if window not in UPTIME_WINDOWS:
            raise ValueError(f"unknown uptime window {window!r}")
        self.uptime.labels(model, provider, vantage, window).set(ratio)

    def prepare_schedule(self, job_names: Iterable[str]) -> None:
        """Create the scheduler's children for every job name, at zero."""
        for name in job_names:
            self.scheduler_lag.labels(name)
            self.job_timeouts.labels(name)
            for reason in SKIP_REASONS:
                self.skipped_runs.labels(name, reason)

    def track(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read at scrape time."""
        gauge = Gauge(name, documentation, registry=self.registry)
        gauge.set_function(read)

    def track_writer(self, writer: WriterState) -> None:
        """Export the result writer's queue, spill file and database state."""
        self.registry.register(_WriterCollector(writer))

    def _bounded(self, labels: tuple[str, ...], error_type: str | None) -> bool:
        known = self._allowed is None or labels in self._allowed
        if known and (error_type is None or error_type in ERROR_TYPES):
            return True
        log.error(
            "record with labels %r, error_type %r is outside the prepared set; "
            "left out of the metrics",
            labels,
            error_type,
        )
        return False


class WriterState(Protocol):
    """What the metrics read from the result writer at scrape time."""

    @property
    def queue_depth(self) -> int: ...
    @property
    def spill_rows(self) -> int: ...
    @property
    def spilled_total(self) -> int: ...
    @property
    def written_total(self) -> int: ...
    @property
    def rejected_total(self) -> int: ...
    @property
    def healthy(self) -> bool: ...


class _WriterCollector(Collector):
    def __init__(self, writer: WriterState) -> None:
        self._writer = writer

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        w = self._writer
        yield GaugeMetricFamily(
            "prober_writer_queue_rows",
            "Result rows waiting in memory for the database.",
            value=w.queue_depth,
        )
        yield GaugeMetricFamily(
            "prober_writer_spill_file_rows",
            "Result rows waiting in the spill file for the database.",
            value=w.spill_rows,
        )
        yield CounterMetricFamily(
            "prober_writer_spilled_rows",
            "Result rows moved from memory to the spill file.",
            value=w.spilled_total,
        )
        yield CounterMetricFamily(
            "prober_writer_written_rows",
            "Result rows written to the database.",
            value=w.written_total,
        )
        yield CounterMetricFamily(
            "prober_writer_rejected_rows",
            "Result rows the database refused, kept in the .rejected file.",
            value=w.rejected_total,
        )
        yield GaugeMetricFamily(
            "prober_database_up",
            "1 while the database answers, 0 while it is unreachable.",
            value=1 if w.healthy else 0,
        )


def _observe(
    histogram: Histogram, labels: tuple[str, ...], value: float | None
) -> None:
    if value is not None:
        histogram.labels(*labels).observe(value)


def _add(counter: Counter, labels: tuple[str, ...], value: float | None) -> None:
    if value:
        counter.labels(*labels).inc(value)
