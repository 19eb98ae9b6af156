"""Answers to the context sweep's retrieval question.

prober's context probe pads a prompt with source code, hides one fact in a
function, and ends the prompt with a fixed question (the format is pinned in
the README, under "The context sweep's prompt"):

    Question: what string does the function `NAME` return? Reply with that
    string only.

The fact is the string literal of the first ``return "..."`` after
``def NAME(`` in the prompt. A model answers with it while the prompt's
tokens are within its profile's ``effective_context``; past that it answers
as models that lose track of a long prompt do, with a string of the same
shape that is not the fact, or by saying it cannot find the function. Which
one is drawn from the request's seeded RNG, so a seeded run repeats.

Recognition reads the text alone: the question is looked for in the last few
hundred characters only, so a 128K-token prompt costs a search of its tail
and one of the function, never a pass over the whole text.
"""

import random
import re
import string
from dataclasses import dataclass

__all__ = ["Retrieval", "find_retrieval", "retrieval_answer"]

QUESTION = re.compile(
    r"Question: what string does the function `([A-Za-z_][A-Za-z0-9_]*)` "
    r"return\? Reply with that string only\.\s*\Z"
)
_TAIL_CHARS = 400
# How far past ``def NAME(`` the return statement may be: a short function.
_BODY_CHARS = 2000
_RETURN = re.compile(r'\n[ \t]+return "([^"\n]{1,200})"')
_NOT_FOUND = (
    "I could not find a function named `{name}` in the code above.",
    "The code does not define `{name}`, so I cannot say what it returns.",
)


@dataclass(frozen=True, slots=True)
class Retrieval:
    """A recognised retrieval question: the function asked about, and the
    fact (None when the prompt does not define that function)."""

    function: str
    fact: str | None


def find_retrieval(user_text: str) -> Retrieval | None:
    """The retrieval question this prompt ends with, or None for any other."""
    match = QUESTION.search(user_text[-_TAIL_CHARS:])
    if match is None:
        return None
    name = match.group(1)
    start = user_text.find(f"def {name}(")
    if start < 0:
        return Retrieval(name, None)
    body = _RETURN.search(user_text, start, start + _BODY_CHARS)
    return Retrieval(name, body.group(1) if body else None)


def retrieval_answer(
    retrieval: Retrieval, prompt_tokens: int, effective_context: int, rng: random.Random
) -> str:
    """The fact within the effective context; a plausible miss past it."""
    fact = retrieval.fact
    if fact is not None and prompt_tokens <= effective_context:
        return fact
    if fact is None or not _has_letters(fact) or rng.random() < 0.3:
        return rng.choice(_NOT_FOUND).format(name=retrieval.function)
    return _lookalike(fact, rng)


def _has_letters(fact: str) -> bool:
    return any(char.isalnum() for char in fact)


def _lookalike(fact: str, rng: random.Random) -> str:
    """A string of the fact's shape (letters for letters, digits for digits)
    that differs from it in at least one place; the fact has a letter or
    digit, so the loop ends."""
    while True:
        made = "".join(_same_kind(char, rng) for char in fact)
        if made != fact:
            return made


def _same_kind(char: str, rng: random.Random) -> str:
    if char.isdigit():
        return rng.choice(string.digits)
    if char.isupper():
        return rng.choice(string.ascii_uppercase)
    if char.islower():
        return rng.choice(string.ascii_lowercase)
    return char
