"""Live Prometheus metrics of a load test, named and labelled as the probes'.

The families, buckets and counting rules are prober's own
(:class:`prober.metrics.ProberMetrics`): ``prober_requests_total``,
``prober_errors_total{error_type}``, ``prober_ttft_seconds``,
``prober_ttfa_seconds``, ``prober_e2e_seconds``, ``prober_itl_seconds``,
``prober_output_tokens_per_second`` and the token and cost counters, with the
labels model, provider, probe and vantage. Every sample gains
``source="loadtest"`` at exposition, so a dashboard or rule can tell load
from probes. The per-model up and last-success gauges are left out: they
judge a model by its latest probe, and a load test's errors are not that
verdict.

Only the master (or the single local process) observes samples; workers
send theirs to it, so one scrape sees the whole test.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from loadtests.samples import Sample
from prober.metrics import ProberMetrics

__all__ = ["SOURCE", "LoadMetrics"]

SOURCE = "loadtest"
_PROBE_VERDICTS = frozenset(
    {"prober_model_up", "prober_last_success_timestamp_seconds"}
)


class LoadMetrics:
    """Prober's metric families fed by load-test samples."""

    def __init__(self, provider: str, vantage: str) -> None:
        self._inner = ProberMetrics()
        self.registry = CollectorRegistry()
        self.registry.register(_SourceLabel(self._inner.registry, SOURCE))
        self._provider = provider
        self._vantage = vantage

    def prepare(self, targets: list[tuple[str, str]]) -> None:
        """Create the (model, probe) series at zero before the first request."""
        self._inner.prepare(
            [(model, self._provider, probe) for model, probe in targets],
            self._vantage,
        )

    def observe(self, sample: Sample, cost_usd: float | None) -> None:
        record = {
            "model": sample.model,
            "provider": self._provider,
            "probe": sample.probe,
            "vantage": self._vantage,
            "ok": sample.ok,
            "error_type": sample.error_type,
            "ttft_s": sample.ttft_s,
            "ttfa_s": sample.ttfa_s,
            "itl_s": sample.itl_s,
            "output_tokens_per_s": sample.output_tokens_per_s,
            "e2e_s": sample.e2e_s,
            "input_tokens": sample.input_tokens,
            "output_tokens": sample.output_tokens,
            "cost_usd": cost_usd,
        }
        self._inner.observe(record, sample.started_at)


class _SourceLabel(Collector):
    """Exposes another registry's samples with one more label."""

    def __init__(self, inner: CollectorRegistry, source: str) -> None:
        self._inner = inner
        self._source = source

    def collect(self) -> Iterator[Metric]:
        for family in self._inner.collect():
            if family.name in _PROBE_VERDICTS:
                continue
            labelled = Metric(family.name, family.documentation, family.type)
            labelled.samples = [
                sample._replace(labels={**sample.labels, "source": self._source})
                for sample in family.samples
            ]
            yield labelled
