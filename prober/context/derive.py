"""The figures a sweep yields, derived with numpy from its requests.

* **Accuracy** per cell (length, depth) and per length: the share of answered
  requests whose answer held the fact. A request that failed (timeout, HTTP
  error) did not answer, and leaves its cell without an accuracy rather than
  counting as a miss; the error stays in the records and the request counts.
* **Prefill**: time to first token against prompt tokens, a least-squares
  line through each length's median (a median of the depths, so one TTFT
  spike does not tilt the line). The slope is seconds per prompt token; its
  inverse is the prefill rate in tokens per second; the intercept is the
  time to first token of an empty prompt (network, queueing, scheduling).
* **Effective context**: the longest length at which accuracy stays within
  ``keep_ratio`` (90%) of the shortest length's, at that length and every
  shorter one. A length without answers ends the climb: nothing is claimed
  past what was measured, and the figure is a lower bound
  (``effective_cut_by_errors``): a burst of errors at one length says
  nothing about where the model stops reading, so such a sweep may raise
  the published effective context but never lowers it. When the climb
  reaches the ladder's top, the figure is a lower bound too
  (``effective_at_top``).

Cheap as it is, this runs in a worker thread in the service: numpy stays off
the event loop that times requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import numpy as np

__all__ = ["Cell", "LengthFigures", "Point", "PrefillFit", "SweepFigures", "derive"]


@dataclass(frozen=True, slots=True)
class Point:
    """One request of a sweep, as the derivation needs it."""

    length: int
    label: str
    depth: float
    context_tokens: int | None
    ttft_s: float | None
    ok: bool
    found: bool | None


@dataclass(frozen=True, slots=True)
class Cell:
    """The requests at one (length, depth)."""

    length: int
    label: str
    depth: float
    requests: int
    answered: int
    found: int
    accuracy: float | None
    context_tokens: int | None
    ttft_s: float | None


@dataclass(frozen=True, slots=True)
class LengthFigures:
    """The requests at one length, all depths together."""

    length: int
    label: str
    requests: int
    answered: int
    found: int
    accuracy: float | None
    context_tokens: int | None
    ttft_s: float | None


@dataclass(frozen=True, slots=True)
class PrefillFit:
    intercept_s: float
    slope_s_per_token: float
    r2: float | None
    points: int

    @property
    def tokens_per_s(self) -> float | None:
        """Prefill rate; None when TTFT did not grow with the prompt."""
        if self.slope_s_per_token <= 0:
            return None
        return 1.0 / self.slope_s_per_token


@dataclass(frozen=True, slots=True)
class SweepFigures:
    cells: tuple[Cell, ...]
    lengths: tuple[LengthFigures, ...]
    fit: PrefillFit | None
    baseline_accuracy: float | None
    effective_length: int | None
    effective_label: str | None
    effective_at_top: bool
    # The climb stopped at a length whose requests all failed: the effective
    # context is at least this.
    effective_cut_by_errors: bool = False
    # Most requests failed: the sweep says nothing about the effective context.
    inconclusive: bool = False


def derive(points: list[Point], keep_ratio: float) -> SweepFigures:
    """The sweep's figures; ``points`` in ladder order, shortest first.

    A sweep most of whose requests failed (a burst of 5xx, an outage) says
    nothing about where the model stops reading: its effective context is
    unknown rather than the few lengths that happened to answer."""
    cells = tuple(_cells(points))
    lengths = tuple(_lengths(points))
    baseline = lengths[0].accuracy if lengths else None
    failed = sum(1 for p in points if not p.ok)
    effective = None
    if failed * 2 <= len(points):
        effective = _effective(lengths, baseline, keep_ratio)
    cut = _cut_by_errors(lengths, effective)
    return SweepFigures(
        cells=cells,
        lengths=lengths,
        fit=fit_prefill(lengths),
        baseline_accuracy=baseline,
        effective_length=effective.length if effective else None,
        effective_label=effective.label if effective else None,
        effective_at_top=effective is not None and effective is lengths[-1],
        effective_cut_by_errors=cut,
        inconclusive=failed * 2 > len(points),
    )


def _cells(points: list[Point]) -> list[Cell]:
    ordered = sorted(points, key=lambda p: (p.length, p.depth))
    cells = []
    for (length, depth), group in groupby(ordered, lambda p: (p.length, p.depth)):
        members = list(group)
        tally = _tally(members)
        cells.append(Cell(length, members[0].label, depth, *tally))
    return cells


def _lengths(points: list[Point]) -> list[LengthFigures]:
    ordered = sorted(points, key=lambda p: p.length)
    figures = []
    for length, group in groupby(ordered, lambda p: p.length):
        members = list(group)
        figures.append(LengthFigures(length, members[0].label, *_tally(members)))
    return figures


def _tally(
    points: list[Point],
) -> tuple[int, int, int, float | None, int | None, float | None]:
    answered = [p for p in points if p.ok and p.found is not None]
    found = sum(1 for p in answered if p.found)
    accuracy = found / len(answered) if answered else None
    tokens = [p.context_tokens for p in points if p.context_tokens is not None]
    ttfts = [p.ttft_s for p in points if p.ok and p.ttft_s is not None]
    median_tokens = round(float(np.median(tokens))) if tokens else None
    median_ttft = float(np.median(ttfts)) if ttfts else None
    return len(points), len(answered), found, accuracy, median_tokens, median_ttft


def _effective(
    lengths: tuple[LengthFigures, ...], baseline: float | None, keep_ratio: float
) -> LengthFigures | None:
    if not baseline:
        return None
    floor = keep_ratio * baseline
    effective = None
    for figures in lengths:
        # A hair of tolerance: 0.9 x 1.0 is not exactly 0.9 in floating point.
        if figures.accuracy is None or figures.accuracy < floor - 1e-9:
            break
        effective = figures
    return effective


def _cut_by_errors(
    lengths: tuple[LengthFigures, ...], effective: LengthFigures | None
) -> bool:
    """True when the length after ``effective`` got no answer at all."""
    if effective is None:
        return False
    following = lengths.index(effective) + 1
    return following < len(lengths) and lengths[following].accuracy is None


def fit_prefill(lengths: tuple[LengthFigures, ...]) -> PrefillFit | None:
    """TTFT = intercept + slope x prompt tokens over each length's medians;
    None with fewer than two distinct prompt sizes."""
    pairs = [
        (f.context_tokens, f.ttft_s)
        for f in lengths
        if f.context_tokens is not None and f.ttft_s is not None
    ]
    if len({tokens for tokens, _ in pairs}) < 2:
        return None
    x = np.array([tokens for tokens, _ in pairs], dtype=float)
    y = np.array([ttft for _, ttft in pairs], dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (intercept + slope * x)
    spread = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / spread if spread > 0 else None
    return PrefillFit(float(intercept), float(slope), r2, len(pairs))
