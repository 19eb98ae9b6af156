"""Timing of one answer: time to first token, decode speed, chunk gaps.

The draws come from the request's own seeded RNG, so a seeded run repeats.
Load enters at two points: the first token is delayed by the load factor at
admission, and each chunk gap by the load factor when the chunk is due.
"""

import math
import random

from simulator.load import ModelLoad
from simulator.profiles import ModelProfile


def first_token_s(
    profile: ModelProfile, prompt_tokens: int, rng: random.Random
) -> float:
    """Time from admission to the first token at full speed: overhead + prefill."""
    ttft = profile.ttft
    overhead = _lognormal(ttft.median_s, ttft.sigma, rng)
    if ttft.spike_probability and rng.random() < ttft.spike_probability:
        overhead *= ttft.spike_factor
    return overhead + prompt_tokens / profile.prefill_tokens_per_s


def reasoning_tokens(profile: ModelProfile, effort: float, rng: random.Random) -> int:
    """How many tokens of reasoning precede the answer (0: no reasoning)."""
    reasoning = profile.reasoning
    if reasoning.median_tokens <= 0:
        return 0
    drawn = _lognormal(reasoning.median_tokens * effort, reasoning.sigma, rng)
    return max(1, round(drawn))


class ChunkClock:
    """Sizes and gaps of one stream's chunks, slowed by the model's load."""

    __slots__ = (
        "seconds_per_token",
        "_jitter",
        "_hiccup_probability",
        "_hiccup_s",
        "_min_tokens",
        "_max_tokens",
        "_load",
        "_rng",
    )

    def __init__(self, profile: ModelProfile, load: ModelLoad, rng: random.Random):
        decode = profile.decode
        speed = _lognormal(decode.median_tokens_per_s, decode.sigma, rng)
        self.seconds_per_token = 1.0 / speed
        self._jitter = decode.chunk_jitter
        self._hiccup_probability = decode.hiccup_probability
        self._hiccup_s = decode.hiccup_s
        self._min_tokens = decode.min_tokens_per_chunk
        self._max_tokens = decode.max_tokens_per_chunk
        self._load = load
        self._rng = rng

    def chunk_tokens(self) -> int:
        if self._min_tokens == self._max_tokens:
            return self._min_tokens
        return self._rng.randint(self._min_tokens, self._max_tokens)

    def gap_s(self, tokens: int) -> float:
        """Time until the chunk after one carrying ``tokens`` tokens."""
        rng = self._rng
        gap = tokens * self.seconds_per_token * self._load.factor
        if self._jitter:
            gap *= 1.0 + self._jitter * (2.0 * rng.random() - 1.0)
        if self._hiccup_probability and rng.random() < self._hiccup_probability:
            gap += self._hiccup_s
        return gap

    def decode_s(self, tokens: int) -> float:
        """Time to decode ``tokens`` tokens at the current load, without jitter."""
        return tokens * self.seconds_per_token * self._load.factor


def _lognormal(median: float, sigma: float, rng: random.Random) -> float:
    if sigma <= 0:
        return median
    return rng.lognormvariate(math.log(median), sigma)
