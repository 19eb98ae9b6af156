"""The context sweep's prompt: an introduction, padding with a needle in it,
and a question whose answer is the needle's fact.

The needle is a short function that returns a string constant::

    def resolve_archive_passphrase_4821() -> str:
        \"\"\"Return the recovery passphrase of the archive vault.\"\"\"
        return "QX-7351-LMRD"

and the question (from ``prober/tasks/context.toml``) asks what that function
returns. Scoring is a deterministic string match: the fact, compared without
regard to case, appears in the answer or it does not. Facts are random enough
(two letters, four digits, four letters) that a guess never matches.
"""

from __future__ import annotations

import random
import string
import tomllib
from dataclasses import dataclass
from importlib import resources

from prober.client import with_nonce
from prober.context.padding import make_padding
from prober.context.plan import TokenEstimate

__all__ = [
    "NONCE_CHARS",
    "ContextPrompt",
    "Needle",
    "PromptTemplate",
    "build_prompt",
    "make_needle",
]

# The client puts a nonce line before every prompt; usage counts it too.
NONCE_CHARS = len(with_nonce("", "0" * 16))

_SEPARATOR = "\n\n"
_SECRETS = ("passphrase", "recovery code", "signing salt", "unlock phrase")
_VAULTS = ("archive", "ledger", "backup", "billing", "audit", "export")


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """The fixed words around the padding; ``question`` has ``{function}``."""

    introduction: str
    question: str

    @classmethod
    def load(cls) -> PromptTemplate:
        """The template shipped in ``prober/tasks/context.toml``."""
        path = resources.files("prober") / "tasks" / "context.toml"
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
        return cls(introduction=raw["prompt"], question=raw["question"])


@dataclass(frozen=True, slots=True)
class Needle:
    """The hidden fact and the function that holds it."""

    function: str
    fact: str
    purpose: str

    def code(self) -> str:
        return (
            f"def {self.function}() -> str:\n"
            f'    """Return the {self.purpose}."""\n'
            f'    return "{self.fact}"\n'
        )

    def found_in(self, answer: str) -> bool:
        """Whether ``answer`` gives the fact: a case-blind substring match."""
        return self.fact.casefold() in answer.casefold()


@dataclass(frozen=True, slots=True)
class ContextPrompt:
    """One prompt of the sweep, with what it hides and where."""

    text: str
    needle: Needle
    depth: float
    padding_chars: int

    @property
    def chars(self) -> int:
        """Characters as sent, the client's nonce line included."""
        return len(self.text) + NONCE_CHARS

    @property
    def fixed_chars(self) -> int:
        """Characters that are not padding: nonce, introduction, needle,
        question and the blank lines between them."""
        return self.chars - self.padding_chars


def make_needle(rng: random.Random) -> Needle:
    secret = rng.choice(_SECRETS)
    vault = rng.choice(_VAULTS)
    number = rng.randint(1000, 9999)
    function = f"resolve_{vault}_{secret.replace(' ', '_')}_{number}"
    fact = "-".join(
        (
            "".join(rng.choices(string.ascii_uppercase, k=2)),
            "".join(rng.choices(string.digits, k=4)),
            "".join(rng.choices(string.ascii_uppercase, k=4)),
        )
    )
    return Needle(function, fact, f"{secret} of the {vault} vault")


def build_prompt(
    template: PromptTemplate,
    seed: str,
    tokens: int,
    depth: float,
    estimate: TokenEstimate,
) -> ContextPrompt:
    """A prompt of about ``tokens`` tokens by ``estimate`` (never more, by
    it), with the needle at ``depth`` of the padding. Deterministic for a
    given ``seed`` and estimate.

    CPU-bound for long prompts: call it from a worker thread."""
    rng = random.Random(seed)
    needle = make_needle(rng)
    question = template.question.format(function=needle.function)
    block = needle.code()
    fixed = (
        NONCE_CHARS
        + len(template.introduction)
        + len(block)
        + len(question)
        + 3 * len(_SEPARATOR)
    )
    pieces = make_padding(rng, estimate.padding_chars_for(tokens, fixed))
    padding_chars = sum(len(piece) + len(_SEPARATOR) for piece in pieces)
    pieces.insert(_insertion_index(pieces, depth), block)
    body = _SEPARATOR.join(pieces)
    text = _SEPARATOR.join((template.introduction, body, question))
    return ContextPrompt(text, needle, depth, padding_chars)


def _insertion_index(pieces: list[str], depth: float) -> int:
    """The boundary between pieces nearest ``depth`` of the padding's length."""
    total = sum(len(piece) + len(_SEPARATOR) for piece in pieces)
    wanted = depth * total
    position = 0
    for index, piece in enumerate(pieces):
        step = len(piece) + len(_SEPARATOR)
        if position + step / 2 > wanted:
            return index
        position += step
    return len(pieces)
