"""What a simulated model says: the answer text, and reasoning before it.

This module is the one place that decides the words of an answer. A prompt is
recognised (see :mod:`simulator.tasks`) and answered:

- ``ping`` with ``pong``;
- a coding task that has an answer bank with a bank answer drawn to match the
  model's quality for that task (see :mod:`simulator.banks`);
- the context sweep's retrieval question with the hidden fact, or a miss
  past the model's effective context (see :mod:`simulator.retrieval`);
- anything else with filler prose of the requested length (``max_tokens``, or
  the profile file's ``default_max_tokens``).

A model whose profile reasons (deepseek-r1) first thinks aloud: reasoning text,
longer for a coding task than for a ping. ``max_tokens`` limits the answer,
not the reasoning, as DeepSeek's reasoner API does. New kinds of answer
belong in :meth:`Answerer.answer`.
"""

import random
from dataclasses import dataclass

from simulator import latency, tokenizer
from simulator.banks import Bank
from simulator.profiles import ModelProfile
from simulator.retrieval import Retrieval, find_retrieval, retrieval_answer
from simulator.tasks import TaskPrompts
from simulator.tokenizer import EMPTY, TokenText

PING_TASK = "ping"
PONG = TokenText.of("pong")

# How much a model reasons before answering, relative to a coding task.
_EFFORT_TASK = 1.0
_EFFORT_FILLER = 0.3
_EFFORT_PING = 0.1

_FILLER_SENTENCES = (
    "The function walks the input once, so its cost grows linearly with size.",
    "Each branch returns early when the input is empty, which keeps the code flat.",
    "A small helper keeps the parsing apart from the validation.",
    "Errors are raised with a message that names the offending value.",
    "The tests cover the empty case, a single item and a deeply nested one.",
    "Type hints make the contract explicit for callers and for the checker.",
    "The loop keeps its state in a stack instead of relying on recursion.",
    "Reading the configuration once at start-up avoids surprises later.",
    "The endpoint validates its query parameters before touching the database.",
    "A timeout on every network call keeps one slow dependency from blocking all.",
    "Logging the request id on each line makes a failure easy to trace.",
    "The cache is keyed by the normalised input, so equal requests share it.",
    "Returning a typed result instead of a bare dict documents the fields.",
    "Pagination metadata tells the client how many pages remain.",
    "The lock is held only around the shared counter, never across I/O.",
    "A constant-time comparison keeps the token check from leaking timing.",
    "Query parameters are bound, never formatted into the SQL string.",
    "The priority queue pops the closest vertex first, as Dijkstra requires.",
    "Await the promise before reading the value it resolves to.",
    "Edge cases such as negative limits are rejected with a clear error.",
    "The docstring states what the function returns and what it raises.",
    "Splitting the work into small functions makes each one easy to test.",
    "Retries use exponential back-off with jitter to avoid thundering herds.",
    "The benchmark runs each case several times and reports the median.",
    "Names say what a value is, so the comments can say why it is there.",
    "The iterator yields items lazily, which keeps memory use flat.",
    "Input from the network is treated as untrusted until it is validated.",
    "The result is sorted so that the output is stable between runs.",
)
_REASONING_SENTENCES = (
    "Let me think about what the question really asks for.",
    "First, what are the inputs and what should come out?",
    "The edge cases matter here: empty input, one element, deep nesting.",
    "A recursive version is simplest, but the recursion limit could bite.",
    "Maybe an explicit stack would be safer for very deep inputs.",
    "Wait, I should check whether the order of the items must be kept.",
    "Yes, the example keeps the original order, so I must too.",
    "What is the complexity? Every item is visited once, so linear time.",
    "I should also consider invalid input and what error to raise.",
    "Let me double-check the example against this plan.",
    "That works. Now how should I present the answer clearly?",
    "I will give the code first, then explain the choices briefly.",
    "Hmm, is there a subtle bug with shared state between calls?",
    "No, each call builds its own result, so it is safe.",
    "I could mention an alternative approach and its trade-offs.",
)


@dataclass(frozen=True, slots=True)
class Answer:
    """The tokens one request will receive, and why it ends."""

    content: TokenText
    reasoning: TokenText
    finish_reason: str
    source: str


class Answerer:
    """Turns a request's prompt into the answer a given model gives."""

    def __init__(
        self,
        prompts: TaskPrompts,
        banks: dict[str, Bank],
        default_max_tokens: int,
        seed: int,
    ) -> None:
        self._prompts = prompts
        self._banks = banks
        self._default_max_tokens = default_max_tokens
        self._filler = _Corpus(_FILLER_SENTENCES, random.Random(seed))
        self._thinking = _Corpus(_REASONING_SENTENCES, random.Random(seed + 1))

    def answer(
        self,
        profile: ModelProfile,
        user_text: str,
        max_tokens: int | None,
        rng: random.Random,
        prompt_tokens: int | None = None,
    ) -> Answer:
        """The answer ``profile``'s model gives; ``prompt_tokens`` (counted
        from ``user_text`` when not given) decides retrieval."""
        # The retrieval question is found from the prompt's tail, before the
        # task lookup normalises the whole (possibly 128K-token) text.
        retrieval = find_retrieval(user_text)
        if retrieval is not None:
            if prompt_tokens is None:
                prompt_tokens = tokenizer.count(user_text)
            return self._retrieve(profile, retrieval, prompt_tokens, max_tokens, rng)
        task = self._prompts.recognise(user_text)
        if task == PING_TASK:
            answer = _capped(PONG, max_tokens, "pong")
            effort = _EFFORT_PING
        elif task is not None and task in self._banks:
            entry = self._banks[task].pick(self._target(profile, task), rng)
            answer = _capped(entry.content, max_tokens, f"{task}/{entry.label}")
            effort = _EFFORT_TASK
        else:
            length = max_tokens or self._default_max_tokens
            reason = "length" if max_tokens else "stop"
            answer = Answer(self._filler.take(length, rng), EMPTY, reason, "filler")
            effort = _EFFORT_FILLER
        return self._with_reasoning(answer, profile, effort, rng)

    def _retrieve(
        self,
        profile: ModelProfile,
        retrieval: Retrieval,
        prompt_tokens: int,
        max_tokens: int | None,
        rng: random.Random,
    ) -> Answer:
        text = retrieval_answer(
            retrieval, prompt_tokens, profile.effective_context, rng
        )
        answer = _capped(TokenText.of(text), max_tokens, "retrieval")
        return self._with_reasoning(answer, profile, _EFFORT_FILLER, rng)

    def _target(self, profile: ModelProfile, task: str) -> float:
        return profile.task_quality.get(task, profile.reference_quality)

    def _with_reasoning(
        self, answer: Answer, profile: ModelProfile, effort: float, rng: random.Random
    ) -> Answer:
        count = latency.reasoning_tokens(profile, effort, rng)
        if count == 0:
            return answer
        reasoning = self._thinking.take(count, rng)
        return Answer(answer.content, reasoning, answer.finish_reason, answer.source)


def _capped(content: TokenText, max_tokens: int | None, source: str) -> Answer:
    if max_tokens is not None and len(content) > max_tokens:
        return Answer(content.head(max(1, max_tokens)), EMPTY, "length", source)
    return Answer(content, EMPTY, "stop", source)


class _Corpus:
    """A few thousand tokens of prose to cut filler from, at sentence starts."""

    def __init__(self, sentences: tuple[str, ...], rng: random.Random) -> None:
        order: list[str] = []
        for _ in range(8):
            lap = list(sentences)
            rng.shuffle(lap)
            order.extend(lap)
        # Tokenized as one text, so that the tokens of any slice are what the
        # tokenizer makes of the slice's text and usage counts stay exact.
        text = TokenText.of(" ".join(order))
        self._tokens = tuple(text.tokens)
        self._escaped = tuple(text.escaped)
        self._starts = _sentence_starts(text, order)

    def take(self, count: int, rng: random.Random) -> TokenText:
        """``count`` tokens of prose, starting at a sentence drawn by ``rng``."""
        start = self._starts[rng.randrange(len(self._starts))]
        end = start + count
        tokens, escaped = self._tokens, self._escaped
        if end > len(tokens):
            laps = end // len(tokens) + 1
            tokens, escaped = tokens * laps, escaped * laps
        # A sentence's first token carries the space before it; an answer
        # does not start with one.
        first = tokens[start].lstrip()
        return TokenText(
            (first, *tokens[start + 1 : end]),
            (tokenizer.escape(first), *escaped[start + 1 : end]),
        )


def _sentence_starts(text: TokenText, sentences: list[str]) -> list[int]:
    """The index of the token holding the first character of each sentence."""
    char_starts, offset = [], 0
    for sentence in sentences:
        char_starts.append(offset)
        offset += len(sentence) + 1
    starts: list[int] = []
    wanted = iter(char_starts)
    target = next(wanted, None)
    position = 0
    for index, token in enumerate(text.tokens):
        position += len(token)
        while target is not None and target < position:
            starts.append(index)
            target = next(wanted, None)
    return starts
