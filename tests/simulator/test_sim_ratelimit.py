"""Token buckets per key and model, without a server."""

import pytest

from simulator.profiles import RateLimit
from simulator.ratelimit import RateLimiter, duration_text

pytestmark = pytest.mark.timeout(10)


def test_unlimited_models_pass_without_headers() -> None:
    verdict = RateLimiter().admit("k", "m", RateLimit(), 100, 0.0)

    assert verdict.allowed and verdict.headers == {}


def test_a_minute_of_requests_then_a_refusal_with_retry_after() -> None:
    limiter = RateLimiter()
    limit = RateLimit(requests_per_minute=6)

    passed = [limiter.admit("k", "m", limit, 1, 0.0).allowed for _ in range(6)]
    refused = limiter.admit("k", "m", limit, 1, 0.0)

    assert all(passed)
    assert not refused.allowed
    assert refused.headers["Retry-After"] == "10"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert limiter.admit("k", "m", limit, 1, 10.0).allowed


def test_keys_and_models_have_their_own_buckets() -> None:
    limiter = RateLimiter()
    limit = RateLimit(requests_per_minute=1)
    limiter.admit("a", "m", limit, 1, 0.0)

    assert limiter.admit("b", "m", limit, 1, 0.0).allowed
    assert limiter.admit("a", "other", limit, 1, 0.0).allowed
    assert not limiter.admit("a", "m", limit, 1, 0.0).allowed


def test_token_limits_refuse_until_enough_tokens_refill() -> None:
    limiter = RateLimiter()
    limit = RateLimit(tokens_per_minute=600)
    limiter.admit("k", "m", limit, 500, 0.0)

    refused = limiter.admit("k", "m", limit, 300, 0.0)

    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(20.0)
    assert refused.headers["x-ratelimit-remaining-tokens"] == "100"


def test_pruning_forgets_only_refilled_buckets() -> None:
    limiter = RateLimiter()
    limit = RateLimit(requests_per_minute=60)
    limiter.admit("busy", "m", limit, 1, 99.5)
    limiter.admit("idle", "m", limit, 1, 0.0)

    limiter.prune(100.0)

    assert limiter.tracked == 1
    busy = limiter.admit("busy", "m", limit, 1, 100.0)
    assert busy.headers["x-ratelimit-remaining-requests"] == "58"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.02, "20ms"), (1.5, "1.5s"), (360.0, "6m0s"), (61.2, "1m2s")],
)
def test_reset_durations_read_like_openai_headers(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text
