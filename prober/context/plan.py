"""What one sweep sends: the ladder capped by a model's window, and how many
characters of padding make a prompt of a given number of tokens.

Each ladder length is kept while it fits the model's context window; a
length equal to the window (128K on a 128K model) is kept too, its prompt
trimmed so that the answer's ``max_tokens`` still fits. A prompt aims at
``headroom`` below its length, so that the estimate's error never pushes it
past the length (or the window).

Prompt sizes are estimated from characters at a tokens-per-character ratio
that starts at a typical figure for source code and is calibrated by every
answer's ``usage``: the sweep climbs the ladder from the shortest length,
so the long prompts are sized by what the short ones measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prober.config import ContextProbeConfig

__all__ = ["Rung", "TokenEstimate", "length_label", "plan_sweep"]

# Below this a prompt is all introduction and question, with no padding.
_MIN_TARGET_TOKENS = 128
# Source code runs at three to four characters a token in most tokenizers.
_START_TOKENS_PER_CHAR = 0.3


@dataclass(frozen=True, slots=True)
class Rung:
    """One request of a sweep: a ladder length and a needle depth."""

    length: int
    label: str
    target_tokens: int
    depth: float


def length_label(tokens: int) -> str:
    """The bucket name of a ladder length: ``32k`` for 32768, else the count."""
    if tokens % 1024 == 0:
        return f"{tokens // 1024}k"
    return str(tokens)


def plan_sweep(
    settings: ContextProbeConfig, context_window: int, max_tokens: int
) -> list[Rung]:
    """Every (length, depth) of the ladder that fits ``context_window``,
    shortest first."""
    room = context_window - max_tokens
    lengths = [length for length in settings.ladder if length <= context_window]
    rungs: list[Rung] = []
    for length in lengths:
        target = math.floor(min(length, room) * (1 - settings.headroom))
        if target < _MIN_TARGET_TOKENS:
            continue
        label = length_label(length)
        rungs.extend(Rung(length, label, target, d) for d in settings.depths)
    return rungs


class TokenEstimate:
    """Tokens per character of the prompts sent to one model, learned from
    ``usage``: total prompt tokens over total characters, so the longest
    prompts, where a constant per-request overhead matters least, weigh most.
    """

    def __init__(self, tokens_per_char: float = _START_TOKENS_PER_CHAR) -> None:
        self._start = tokens_per_char
        self._chars = 0
        self._tokens = 0

    @property
    def tokens_per_char(self) -> float:
        if not self._chars:
            return self._start
        return self._tokens / self._chars

    @property
    def calibrated(self) -> bool:
        return self._chars > 0

    def learn(self, chars: int, tokens: int) -> None:
        if chars > 0 and tokens > 0:
            self._chars += chars
            self._tokens += tokens

    def chars_for(self, tokens: int) -> int:
        return int(tokens / self.tokens_per_char)

    def tokens_for(self, chars: int) -> int:
        return round(chars * self.tokens_per_char)
