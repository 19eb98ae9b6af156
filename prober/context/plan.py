"""What one sweep sends: the ladder capped by a model's window, and how many
characters of padding make a prompt of a given number of tokens.

Each ladder length is kept while it fits the model's context window; a
length equal to the window (128K on a 128K model) is kept too, its prompt
trimmed so that the answer's ``max_tokens`` still fits. A prompt aims at
``headroom`` below its length, so that the estimate's error never pushes it
past the length (or the window).

Prompt sizes are estimated from characters at a tokens-per-character ratio
that starts at a typical figure for source code and is calibrated by every
answer's ``usage`` (:class:`TokenEstimate`): the sweep climbs the ladder from
the shortest length, so the long prompts are sized by what the short ones
measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prober.config import ContextProbeConfig

__all__ = ["Rung", "TokenEstimate", "length_label", "plan_sweep"]

# Below this a prompt is all introduction and question, with no padding.
_MIN_TARGET_TOKENS = 128
# Source code runs at three to four characters a token in most tokenizers,
# English prose at about four.
_START_TOKENS_PER_CHAR = 0.3
_PROSE_TOKENS_PER_CHAR = 0.25


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
    """Tokens per character of one model's padding, learned from ``usage``.

    A prompt is padding plus fixed words (the nonce line, introduction,
    needle and question, a few hundred characters of prose). Those are
    counted at a prose rate of a token per four characters; what ``usage``
    reports beyond them is the padding's. Calibrating on the whole prompt
    instead would carry the short prompts' larger share of prose into the
    long ones and undercount them. The ratio is total padding tokens over
    total padding characters, so the longest prompts weigh most.
    """

    def __init__(self, tokens_per_char: float = _START_TOKENS_PER_CHAR) -> None:
        self._start = tokens_per_char
        self._chars = 0
        self._tokens = 0.0

    @property
    def tokens_per_char(self) -> float:
        if not self._chars or self._tokens <= 0:
            return self._start
        return self._tokens / self._chars

    def learn(self, padding_chars: int, fixed_chars: int, tokens: int) -> None:
        padding_tokens = tokens - fixed_chars * _PROSE_TOKENS_PER_CHAR
        if padding_chars > 0 and padding_tokens > 0:
            self._chars += padding_chars
            self._tokens += padding_tokens

    def padding_chars_for(self, tokens: int, fixed_chars: int) -> int:
        """Characters of padding that bring a prompt to ``tokens``."""
        padding_tokens = tokens - fixed_chars * _PROSE_TOKENS_PER_CHAR
        return max(0, int(padding_tokens / self.tokens_per_char))

    def tokens_for(self, padding_chars: int, fixed_chars: int) -> int:
        fixed_tokens = fixed_chars * _PROSE_TOKENS_PER_CHAR
        return round(fixed_tokens + padding_chars * self.tokens_per_char)
