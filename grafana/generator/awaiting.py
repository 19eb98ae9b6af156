"""Panel queries that may come back empty until another part of prober lands.

The dashboard tests require every query to return data against a live
prober, except a query that needs something listed here while that thing is
still missing: each entry names what is missing, which queries need it (a
regular expression over the query text), how to tell it has arrived (a query
that returns something once it exists) and why it is missing. Once the check
finds it, the exemption ends by itself and an empty panel fails the test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PROMETHEUS", "SQL", "Awaited"]


@dataclass(frozen=True)
class Awaited:
    name: str
    pattern: str
    check: str
    reason: str

    def needed_by(self, query: str) -> bool:
        return re.search(self.pattern, query) is not None


def _metric(name: str, reason: str) -> Awaited:
    return Awaited(
        name,
        rf"\b{name}(_bucket|_count|_sum)?\b",
        f"count({{__name__=~'{name}(_bucket)?'}})",
        reason,
    )


_SERVICE = "exported by the monitoring service (issue 6)"
_SWEEP = "exported by the context sweep (issue 7)"

PROMETHEUS: tuple[Awaited, ...] = (
    _metric("prober_quality_score", "exported once answers are graded (issues 5, 6)"),
    _metric("prober_value_score", "exported once answers are graded (issues 5, 6)"),
    _metric("prober_uptime_ratio", _SERVICE),
    _metric("prober_scheduler_lag_seconds", _SERVICE),
    _metric("prober_budget_spent_usd", _SERVICE),
    _metric("prober_budget_limit_usd", _SERVICE + ", and only when a budget is set"),
    _metric("prober_budget_paused", _SERVICE),
    _metric("prober_writer_spilled_rows_total", _SERVICE),
    _metric("prober_writer_spill_file_rows", _SERVICE),
    _metric("prober_database_up", _SERVICE),
    _metric("prober_context_effective_tokens", _SWEEP),
    _metric("prober_context_prefill_tokens_per_second", _SWEEP),
    _metric("prober_context_accuracy_ratio", _SWEEP),
    _metric("prober_context_ttft_seconds", _SWEEP),
    Awaited(
        "load-test series",
        r'source!=""',
        "count(prober_requests_total{source!=''})",
        "served by a running Locust test (issue 8), never by the prober",
    ),
)

SQL: tuple[Awaited, ...] = (
    Awaited(
        "graded results",
        r"quality IS NOT NULL",
        "SELECT 1 FROM probe_results WHERE quality IS NOT NULL LIMIT 1",
        "probe_results.quality is written once answers are graded (issue 5)",
    ),
    Awaited(
        "context sweep results",
        r"probe = 'context'",
        "SELECT 1 FROM probe_results WHERE probe = 'context' LIMIT 1",
        "the context sweep (issue 7) writes these rows",
    ),
)
