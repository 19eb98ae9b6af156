"""Stage statistics, the SLO verdict and the knee."""

from __future__ import annotations

import pytest

from loadtests.stages import SLO, find_knee, stage_stats
from tests.load.samples import failed, ok


def test_failures_count_in_the_rate_and_latency_is_over_successes() -> None:
    samples = [ok(0, t) for t in (0.1, 0.2, 0.3, 0.4, 0.5)]
    samples += [failed(0, "http_5xx"), failed(0, "http_5xx"), failed(0, "rate_limited")]
    stats = stage_stats("*", samples, duration_s=4.0)

    assert stats.requests == 8
    assert stats.failures == 3
    assert stats.error_rate == pytest.approx(3 / 8)
    assert stats.request_rate == pytest.approx(2.0)
    assert stats.failures_by_type == {"http_5xx": 2, "rate_limited": 1}
    # Five successes 0.1 .. 0.5 s: the median is 0.3 s; linear p95 is 0.48 s.
    assert stats.ttft_p50_s == pytest.approx(0.3)
    assert stats.ttft_p95_s == pytest.approx(0.48)
    assert stats.e2e_p50_s == pytest.approx(1.3)
    assert stats.output_tokens_per_s_p50 == pytest.approx(100.0)


def test_no_success_means_no_percentiles_not_zero() -> None:
    stats = stage_stats("*", [failed(0, "connection_error")], duration_s=1.0)
    assert stats.error_rate == 1.0
    assert stats.ttft_p50_s is None and stats.e2e_p95_s is None


def test_empty_stage() -> None:
    stats = stage_stats("*", [], duration_s=0.0)
    assert stats.requests == 0 and stats.request_rate == 0.0
    assert stats.error_rate is None


def test_slo_verdict() -> None:
    slo = SLO(ttft_p95_s=0.5, error_rate=0.01)
    fast = [ok(0, 0.2)] * 20
    assert slo.verdict(stage_stats("*", fast, 1.0)) is True
    slow = [ok(0, 0.2)] * 18 + [ok(0, 0.9)] * 2
    assert slo.verdict(stage_stats("*", slow, 1.0)) is False
    one_error_in_a_hundred = [ok(0, 0.2)] * 99 + [failed(0, "http_5xx")]
    assert slo.verdict(stage_stats("*", one_error_in_a_hundred, 1.0)) is False
    only_errors = [failed(0, "http_5xx")]
    assert slo.verdict(stage_stats("*", only_errors, 1.0)) is False
    assert slo.verdict(stage_stats("*", [], 1.0)) is None


def test_knee_is_the_step_below_the_first_breach() -> None:
    steps = [
        (0, 2, 1.0, True),
        (1, 4, 2.0, True),
        (2, 6, 2.5, False),
        (3, 8, 2.6, True),
    ]
    knee = find_knee(steps)
    assert (knee.stage_index, knee.users, knee.request_rate) == (1, 4, 2.0)
    assert knee.saturated is True


def test_knee_when_no_step_breaches_is_the_last_and_not_saturated() -> None:
    knee = find_knee([(0, 2, 1.0, True), (1, 4, 2.0, True)])
    assert knee.users == 4 and knee.saturated is False


def test_knee_below_the_first_step() -> None:
    knee = find_knee([(0, 2, 1.0, False), (1, 4, 2.0, False)])
    assert knee.users is None and knee.saturated is True


def test_a_step_without_requests_ends_the_search_unsaturated() -> None:
    knee = find_knee([(0, 2, 1.0, True), (1, 4, 0.0, None)])
    assert knee.users == 2 and knee.saturated is False
