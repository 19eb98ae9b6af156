"""Answer banks: graded answers to prober's coding tasks, and choosing one.

A bank is ``simulator/data/answers/<task>.toml``, a list of ``[[answers]]``
tables with ``label``, ``score`` (0-10, what prober's grader gives the answer)
and ``text`` (the whole chat answer). A model answers a task by drawing from
the two answers whose scores bracket its target quality, weighted so that its
expected score is the target: a model of quality 8.8 facing answers scored
8.5 and 9.5 gives the 9.5 one 30% of the time. A target outside the bank's
range gets the nearest answer every time.
"""

import logging
import random
import tomllib
from dataclasses import dataclass
from pathlib import Path

from simulator.schema import SchemaError, build
from simulator.tokenizer import TokenText

logger = logging.getLogger(__name__)

BUILTIN_ANSWERS = Path(__file__).parent / "data" / "answers"


class BankError(ValueError):
    """An answer bank file that cannot be used; names the file and the key."""


@dataclass(frozen=True)
class BankAnswer:
    label: str
    score: float
    text: str

    def validate(self) -> None:
        if not 0.0 <= self.score <= 10.0:
            raise SchemaError("score", "must be between 0 and 10")
        if not self.text:
            raise SchemaError("text", "must not be empty")


@dataclass(frozen=True)
class _BankFile:
    answers: list[BankAnswer]

    def validate(self) -> None:
        if not self.answers:
            raise SchemaError("answers", "the bank has no answers")


@dataclass(frozen=True)
class Entry:
    """One bank answer, tokenized once for every stream that sends it."""

    label: str
    score: float
    content: TokenText


class Bank:
    """One task's answers, in order of score."""

    def __init__(self, task: str, answers: list[BankAnswer]) -> None:
        self.task = task
        ordered = sorted(answers, key=lambda answer: answer.score)
        self.entries = [
            Entry(answer.label, answer.score, TokenText.of(answer.text))
            for answer in ordered
        ]

    def pick(self, target: float, rng: random.Random) -> Entry:
        """Draw an answer so that the expected score is ``target``."""
        entries = self.entries
        if target <= entries[0].score:
            return entries[0]
        for lower, upper in zip(entries, entries[1:], strict=False):
            if lower.score <= target <= upper.score:
                if upper.score == lower.score:
                    return upper
                share = (target - lower.score) / (upper.score - lower.score)
                return upper if rng.random() < share else lower
        return entries[-1]


def load_banks(directory: Path | None = BUILTIN_ANSWERS) -> dict[str, Bank]:
    """Load every ``<task>.toml`` bank in ``directory``; none if it is missing."""
    if directory is None or not directory.is_dir():
        return {}
    banks = {path.stem: _load_bank(path) for path in sorted(directory.glob("*.toml"))}
    logger.info("loaded answer banks for %s", ", ".join(banks) or "no task")
    return banks


def _load_bank(path: Path) -> Bank:
    try:
        with path.open("rb") as file:
            table = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BankError(f"{path}: cannot load: {exc}") from exc
    try:
        bank = build(_BankFile, table)
    except SchemaError as exc:
        raise BankError(f"{path}: {exc}") from None
    return Bank(path.stem, bank.answers)
