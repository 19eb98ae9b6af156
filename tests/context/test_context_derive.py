"""What a sweep's answers yield: accuracy, the prefill line, and the
effective context, with errors and failures where they fall."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prober.context.derive import Point, derive

pytestmark = pytest.mark.timeout(10)

LADDER = [(1024, "1k"), (4096, "4k"), (16384, "16k"), (32768, "32k"), (65536, "64k")]
DEPTHS = (0.1, 0.5, 0.9)


def sweep(
    found: dict[str, tuple[bool | None, ...]],
    ttft: float = 0.5,
    rate: float = 8000.0,
) -> list[Point]:
    """Points for the ladder; ``found[label]`` per depth, None for an error."""
    points = []
    for length, label in LADDER:
        for depth, hit in zip(DEPTHS, found.get(label, (True,) * 3), strict=True):
            tokens = int(length * 0.97)
            ok = hit is not None
            seconds = ttft + tokens / rate if ok else None
            points.append(Point(length, label, depth, tokens, seconds, ok, hit))
    return points


def test_a_model_that_stops_reading_past_32k() -> None:
    figures = derive(sweep({"64k": (False, False, False)}), 0.9)

    assert figures.baseline_accuracy == 1.0
    assert figures.effective_length == 32768 and figures.effective_label == "32k"
    assert not figures.effective_at_top
    assert [f.accuracy for f in figures.lengths] == [1.0, 1.0, 1.0, 1.0, 0.0]


def test_retrieval_to_the_top_is_a_lower_bound() -> None:
    figures = derive(sweep({}), 0.9)

    assert figures.effective_length == 65536
    assert figures.effective_at_top


def test_one_miss_in_three_is_below_90_percent_of_the_baseline() -> None:
    figures = derive(sweep({"16k": (True, False, True)}), 0.9)

    assert figures.effective_label == "4k"
    middle = next(c for c in figures.cells if c.label == "16k" and c.depth == 0.5)
    assert (middle.requests, middle.answered, middle.found) == (1, 1, 0)
    assert middle.accuracy == 0.0


def test_accuracy_is_relative_to_the_short_prompts() -> None:
    weak = {label: (True, False, True) for _, label in LADDER}
    weak["64k"] = (False, False, True)

    figures = derive(sweep(weak), 0.9)

    assert figures.baseline_accuracy == pytest.approx(2 / 3)
    assert figures.effective_label == "32k"
    assert derive(sweep(weak), 0.5).effective_label == "64k"


def test_errors_leave_accuracy_to_the_answers_and_a_silent_length_ends_the_climb() -> (
    None
):
    partly = derive(sweep({"16k": (True, None, True)}), 0.9)
    silent = derive(sweep({"16k": (None, None, None)}), 0.9)

    assert partly.lengths[2].accuracy == 1.0 and partly.lengths[2].requests == 3
    assert partly.effective_label == "64k"
    assert silent.lengths[2].accuracy is None
    assert silent.effective_label == "4k"
    # 4k is only a lower bound: a burst of errors at 16k says nothing about
    # where the model stops reading.
    assert silent.effective_cut_by_errors and not silent.inconclusive
    assert not partly.effective_cut_by_errors


def test_a_length_that_answered_wrong_is_not_cut_by_errors() -> None:
    figures = derive(sweep({"16k": (False, False, None)}), 0.9)

    assert figures.effective_label == "4k"
    assert not figures.effective_cut_by_errors and not figures.inconclusive


def test_no_retrieval_at_the_shortest_length_means_no_effective_context() -> None:
    figures = derive(sweep({"1k": (False, False, False)}), 0.9)

    assert figures.baseline_accuracy == 0.0
    assert figures.effective_length is None and not figures.effective_at_top


def test_the_prefill_line_recovers_rate_and_overhead() -> None:
    figures = derive(sweep({}, ttft=0.4, rate=5000.0), 0.9)

    fit = figures.fit
    assert fit is not None and fit.points == 5
    assert fit.tokens_per_s == pytest.approx(5000.0, rel=1e-3)
    assert fit.intercept_s == pytest.approx(0.4, abs=1e-3)
    assert fit.r2 == pytest.approx(1.0)


def test_one_ttft_spike_does_not_tilt_the_line() -> None:
    points = sweep({}, ttft=0.4, rate=5000.0)
    spiked = points[7]  # 16k at 50%
    assert spiked.ttft_s is not None
    points[7] = replace(spiked, ttft_s=spiked.ttft_s * 10)

    fit = derive(points, 0.9).fit

    assert fit is not None and fit.tokens_per_s == pytest.approx(5000.0, rel=0.02)


def test_no_line_from_a_single_length() -> None:
    only = [p for p in sweep({}) if p.length == 1024]

    figures = derive(only, 0.9)

    assert figures.fit is None
    assert figures.effective_label == "1k" and figures.effective_at_top


def test_a_sweep_that_mostly_failed_has_no_effective_context() -> None:
    # A burst of errors: only the first length answered. That says nothing
    # about where the model stops reading.
    failed = {label: (None, None, None) for _, label in LADDER[1:]}
    figures = derive(sweep(failed), 0.9)

    assert figures.baseline_accuracy == 1.0
    assert figures.effective_label is None and figures.effective_length is None
