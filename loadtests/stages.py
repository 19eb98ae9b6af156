"""Statistics of one stage of a run, the SLO verdict and the knee.

A request belongs to the stage in which it started. For each stage and model
(and for all models together) the figures are: requests, failures and the
error rate (failures count in every denominator), failures by error type, the
request rate (requests started per second of the stage), and percentiles of
TTFT, TTFA and end-to-end over successful requests only, with the error rate
beside them. Percentiles are numpy's default (linear) ones.

A stage meets the SLO when it has requests, its error rate is under the
limit and its TTFT p95 is at most the limit; a stage without a successful
request has no TTFT p95 and does not meet it. The knee of a step run is the
highest step below the first step that does not meet the SLO.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from loadtests.samples import Sample

__all__ = ["SLO", "Knee", "StageStats", "find_knee", "stage_stats"]


@dataclass(frozen=True, slots=True)
class SLO:
    ttft_p95_s: float = 0.5
    error_rate: float = 0.01

    def verdict(self, stats: StageStats) -> bool | None:
        """True if met, False if not, None for a stage without requests."""
        if stats.requests == 0 or stats.error_rate is None:
            return None
        if stats.ttft_p95_s is None:
            return False
        return (
            stats.error_rate < self.error_rate and stats.ttft_p95_s <= self.ttft_p95_s
        )


@dataclass(slots=True)
class StageStats:
    model: str
    requests: int
    failures: int
    request_rate: float
    error_rate: float | None
    failures_by_type: dict[str, int] = field(default_factory=dict)
    ttft_p50_s: float | None = None
    ttft_p95_s: float | None = None
    ttft_p99_s: float | None = None
    ttfa_p50_s: float | None = None
    ttfa_p95_s: float | None = None
    e2e_p50_s: float | None = None
    e2e_p95_s: float | None = None
    e2e_p99_s: float | None = None
    output_tokens_per_s_p50: float | None = None


def stage_stats(model: str, samples: Sequence[Sample], duration_s: float) -> StageStats:
    """The figures of ``samples``, all started within one stage."""
    failures = Counter(s.error_type or "unknown" for s in samples if not s.ok)
    good = [s for s in samples if s.ok]
    requests = len(samples)
    ttft = _percentiles([s.ttft_s for s in good], (50, 95, 99))
    ttfa = _percentiles([s.ttfa_s for s in good], (50, 95))
    e2e = _percentiles([s.e2e_s for s in good], (50, 95, 99))
    speed = _percentiles([s.output_tokens_per_s for s in good], (50,))
    return StageStats(
        model=model,
        requests=requests,
        failures=sum(failures.values()),
        request_rate=requests / duration_s if duration_s > 0 else 0.0,
        error_rate=sum(failures.values()) / requests if requests else None,
        failures_by_type=dict(sorted(failures.items())),
        ttft_p50_s=ttft[0],
        ttft_p95_s=ttft[1],
        ttft_p99_s=ttft[2],
        ttfa_p50_s=ttfa[0],
        ttfa_p95_s=ttfa[1],
        e2e_p50_s=e2e[0],
        e2e_p95_s=e2e[1],
        e2e_p99_s=e2e[2],
        output_tokens_per_s_p50=speed[0],
    )


def _percentiles(
    values: Iterable[float | None], quantiles: tuple[int, ...]
) -> list[float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return [None] * len(quantiles)
    return [float(v) for v in np.percentile(present, quantiles)]


@dataclass(frozen=True, slots=True)
class Knee:
    stage_index: int | None
    """The highest step meeting the SLO below the first breach; None when even
    the first step breached or no step ran."""
    users: int | None
    request_rate: float | None
    saturated: bool
    """True when a step breached the SLO; False when every step met it (the
    knee is then only a lower bound)."""


def find_knee(steps: Sequence[tuple[int, int, float, bool | None]]) -> Knee:
    """``steps`` is (stage index, users, request rate, verdict), in order."""
    knee = Knee(None, None, None, saturated=False)
    for index, users, rate, verdict in steps:
        if verdict is not True:
            return Knee(
                knee.stage_index, knee.users, knee.request_rate, verdict is False
            )
        knee = Knee(index, users, rate, saturated=False)
    return knee
