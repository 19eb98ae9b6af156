"""The context sweep's gauges: the latest sweep's figures per model.

Registered into the service's registry beside the per-request metrics (a
sweep's requests are counted there too, under probe ``context``). Labels
stay bounded: ``length`` is a ladder bucket (``1k`` ... ``128k``), at most
twelve per model, set by configuration and never by a measurement. A figure
the latest sweep could not give (no fit, no answers at a length) removes
its series instead of leaving the previous sweep's value standing.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from prober.context.derive import SweepFigures
from prober.context.sweep import SweepResult

__all__ = ["ContextMetrics"]

MODEL_LABELS = ("model", "provider", "vantage")
LENGTH_LABELS = (*MODEL_LABELS, "length")


class ContextMetrics:
    """Gauges set from each finished sweep."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.effective = Gauge(
            "prober_context_effective_tokens",
            "Effective context of the latest conclusive sweep: the longest "
            "ladder length at which retrieval accuracy stayed within keep_ratio "
            "(90%) of the shortest length's. A sweep most of whose requests "
            "failed leaves the previous figure in place.",
            MODEL_LABELS,
            registry=registry,
        )
        self.prefill = Gauge(
            "prober_context_prefill_tokens_per_second",
            "Prefill rate of the latest sweep: inverse slope of time to first "
            "token against prompt tokens.",
            MODEL_LABELS,
            registry=registry,
        )
        self.accuracy = Gauge(
            "prober_context_accuracy_ratio",
            "Share of the latest sweep's answers at this length that held the "
            "hidden fact.",
            LENGTH_LABELS,
            registry=registry,
        )
        self.ttft = Gauge(
            "prober_context_ttft_seconds",
            "Median time to first token of the latest sweep at this length.",
            LENGTH_LABELS,
            registry=registry,
        )
        self._lengths: dict[tuple[str, ...], set[str]] = {}
        self._effective: dict[tuple[str, ...], int] = {}

    def observe(self, sweep: SweepResult) -> None:
        """Show ``sweep``'s figures in place of the model's previous ones."""
        labels = (sweep.model, sweep.provider, sweep.vantage)
        figures = sweep.figures
        if not figures.inconclusive:
            self._publish_effective(labels, figures)
        _set(self.prefill, labels, figures.fit.tokens_per_s if figures.fit else None)

        seen = set()
        for length in figures.lengths:
            seen.add(length.label)
            _set(self.accuracy, (*labels, length.label), length.accuracy)
            _set(self.ttft, (*labels, length.label), length.ttft_s)
        for label in self._lengths.get(labels, set()) - seen:
            _set(self.accuracy, (*labels, label), None)
            _set(self.ttft, (*labels, label), None)
        self._lengths[labels] = seen

    def _publish_effective(
        self, labels: tuple[str, ...], figures: SweepFigures
    ) -> None:
        value = figures.effective_length
        published = self._effective.get(labels)
        if figures.effective_cut_by_errors and published is not None:
            # A lower bound: errors at the next length may raise the figure
            # shown, never lower it.
            value = max(published, value or 0)
        _set(self.effective, labels, value)
        if value is None:
            self._effective.pop(labels, None)
        else:
            self._effective[labels] = value


def _set(gauge: Gauge, labels: tuple[str, ...], value: float | None) -> None:
    if value is not None:
        gauge.labels(*labels).set(value)
        return
    try:
        gauge.remove(*labels)
    except KeyError:
        pass
