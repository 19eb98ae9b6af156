"""Every Prometheus metric prober exports, defined in one place.

Names carry base units (``_seconds``, ``_total``); latencies are histograms
whose buckets run from milliseconds to ten minutes, because a reasoning model
at a long prompt can take minutes; quantiles come from ``histogram_quantile``
on the server, never from client-side summaries.

Labels stay bounded: ``model``, ``provider``, ``probe``, ``vantage`` (one per
process), ``error_type`` (a closed set) and ``phase`` (a closed set). Never a
prompt, an answer or a request id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["LATENCY_BUCKETS", "ProberMetrics"]

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
PHASES = ("dns", "connect", "headers")

PROBE_LABELS = ("model", "provider", "probe", "vantage")
MODEL_LABELS = ("model", "provider", "vantage")


class ProberMetrics:
    """The metric families, registered in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
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

    def _latency(self, name: str, documentation: str) -> Histogram:
        return Histogram(
            name, documentation, PROBE_LABELS, buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )  # fmt: skip

    def prepare(self, targets: list[tuple[str, str, str]], vantage: str) -> None:
        """Create every (model, provider, probe) child up front, so series
        exist at zero before the first probe and rates start from there."""
        for model, provider, probe in targets:
            labels = (model, provider, probe, vantage)
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

    def track(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read at scrape time (writer queue and such)."""
        gauge = Gauge(name, documentation, registry=self.registry)
        gauge.set_function(read)


def _observe(
    histogram: Histogram, labels: tuple[str, ...], value: float | None
) -> None:
    if value is not None:
        histogram.labels(*labels).observe(value)


def _add(counter: Counter, labels: tuple[str, ...], value: float | None) -> None:
    if value:
        counter.labels(*labels).inc(value)
