"""Per-key rate limits: requests and tokens per minute, as token buckets.

Each (API key, model) pair has two buckets that hold a minute's allowance and
refill continuously. A request costs one request and its prompt tokens plus
``max_tokens`` (what providers reserve up front); a cost above a minute's
allowance is clamped to it so one large request can still pass on a full
bucket. Answers carry OpenAI's ``x-ratelimit-*`` headers; a refusal carries
``Retry-After`` in whole seconds (RFC 9110, section 10.2.3), never below 1, and
``retry-after-ms``.
"""

import math
from dataclasses import dataclass, field

from simulator.profiles import RateLimit


class _Bucket:
    __slots__ = ("capacity", "level", "rate", "stamp")

    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.level = float(per_minute)
        self.rate = per_minute / 60.0
        self.stamp = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_s(self, amount: float) -> float:
        return max(0.0, (amount - self.level) / self.rate)

    def reset_s(self) -> float:
        return (self.capacity - self.level) / self.rate

    @property
    def full(self) -> bool:
        return self.level >= self.capacity


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and the headers its answer carries."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    retry_after_s: float = 0.0


ALLOWED = Verdict(allowed=True)


class RateLimiter:
    """The buckets of every (key, model) pair seen."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}

    def admit(
        self, key: str, model: str, limit: RateLimit, tokens: int, now: float
    ) -> Verdict:
        """Charge one request of ``tokens`` tokens, or refuse it."""
        costs = {
            "requests": (limit.requests_per_minute, 1.0),
            "tokens": (limit.tokens_per_minute, float(tokens)),
        }
        buckets = {
            kind: (self._bucket(key, model, kind, per_minute, now), cost)
            for kind, (per_minute, cost) in costs.items()
            if per_minute > 0
        }
        if not buckets:
            return ALLOWED

        wait_s = max(b.wait_s(min(cost, b.capacity)) for b, cost in buckets.values())
        if wait_s > 0:
            return _refusal(buckets, wait_s)
        for bucket, cost in buckets.values():
            bucket.level -= min(cost, bucket.capacity)
        return Verdict(allowed=True, headers=_headers(buckets))

    @property
    def tracked(self) -> int:
        """How many buckets are held (two per key and model, at most)."""
        return len(self._buckets)

    def prune(self, now: float) -> None:
        """Forget buckets that have refilled, so idle keys cost nothing."""
        for name, bucket in list(self._buckets.items()):
            bucket.refill(now)
            if bucket.full:
                del self._buckets[name]

    def _bucket(
        self, key: str, model: str, kind: str, per_minute: int, now: float
    ) -> _Bucket:
        name = (key, model, kind)
        bucket = self._buckets.get(name)
        if bucket is None or bucket.capacity != per_minute:
            bucket = self._buckets[name] = _Bucket(per_minute, now)
        bucket.refill(now)
        return bucket


def _refusal(buckets: dict[str, tuple[_Bucket, float]], wait_s: float) -> Verdict:
    headers = _headers(buckets)
    headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
    headers["retry-after-ms"] = str(max(1, math.ceil(wait_s * 1000)))
    return Verdict(allowed=False, headers=headers, retry_after_s=wait_s)


def _headers(buckets: dict[str, tuple[_Bucket, float]]) -> dict[str, str]:
    headers = {}
    for kind, (bucket, _) in buckets.items():
        headers[f"x-ratelimit-limit-{kind}"] = str(int(bucket.capacity))
        headers[f"x-ratelimit-remaining-{kind}"] = str(int(bucket.level))
        headers[f"x-ratelimit-reset-{kind}"] = duration_text(bucket.reset_s())
    return headers


def duration_text(seconds: float) -> str:
    """A duration the way OpenAI's reset headers write it: 20ms, 1.5s, 6m0s."""
    if seconds < 1.0:
        return f"{math.ceil(seconds * 1000)}ms"
    if seconds < 60.0:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(math.ceil(seconds), 60)
    return f"{minutes}m{rest}s"
