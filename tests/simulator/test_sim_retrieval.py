"""Retrieval answers to the context sweep's question: the fact within a
model's effective context, a plausible miss past it, repeatable by seed."""

import random
import re

import aiohttp
import pytest
from sim_helpers import FAST, Serve, chat_body, profiles_of, read_stream

from simulator import tokenizer
from simulator.answers import Answerer
from simulator.banks import load_banks
from simulator.profiles import ModelProfile
from simulator.retrieval import Retrieval, find_retrieval, retrieval_answer
from simulator.tasks import TaskPrompts, prober_tasks_dir

pytestmark = pytest.mark.timeout(20)

QUESTION = (
    "Question: what string does the function `{name}` return? "
    "Reply with that string only."
)
NEEDLE = (
    "def resolve_audit_passphrase_4821() -> str:\n"
    '    """Return the passphrase of the audit vault."""\n'
    '    return "QX-7351-LMRD"\n'
)
DECOY = 'def default_region() -> str:\n    return "eu-west-1"\n'


def context_prompt(
    filler_lines: int, name: str = "resolve_audit_passphrase_4821"
) -> str:
    padding = "\n".join(f"LIMIT_{n} = {n}" for n in range(filler_lines))
    return (
        "nonce: 0123456789abcdef\n\nBelow are the source files of a Python "
        f"project.\n\n{DECOY}\n{padding}\n\n{NEEDLE}\n{padding}\n\n"
        + QUESTION.format(name=name)
    )


def test_the_question_and_the_fact_are_read_from_the_text() -> None:
    found = find_retrieval(context_prompt(10))

    assert found == Retrieval("resolve_audit_passphrase_4821", "QX-7351-LMRD")


def test_other_prompts_are_not_retrieval_questions() -> None:
    assert find_retrieval("Reply with the single word: pong") is None
    asked_mid_prompt = QUESTION.format(name="f") + "\n\nAnd also write a poem."
    assert find_retrieval(asked_mid_prompt) is None


def test_a_function_missing_from_the_prompt_has_no_fact() -> None:
    found = find_retrieval(context_prompt(3, name="resolve_nothing_1"))

    assert found == Retrieval("resolve_nothing_1", None)
    answer = retrieval_answer(found, 100, 1000, random.Random(1))
    assert "resolve_nothing_1" in answer


def test_within_the_effective_context_the_fact_comes_back() -> None:
    found = find_retrieval(context_prompt(10))
    assert found is not None

    assert retrieval_answer(found, 32768, 32768, random.Random(1)) == "QX-7351-LMRD"


def test_past_it_the_answer_misses_plausibly_and_repeatably() -> None:
    found = find_retrieval(context_prompt(10))
    assert found is not None

    answers = [
        retrieval_answer(found, 32769, 32768, random.Random(s)) for s in range(200)
    ]

    assert all("QX-7351-LMRD" not in answer for answer in answers)
    lookalikes = [a for a in answers if re.fullmatch(r"[A-Z]{2}-\d{4}-[A-Z]{4}", a)]
    assert 100 < len(lookalikes) < 190, "mostly wrong facts, sometimes not found"
    again = [
        retrieval_answer(found, 32769, 32768, random.Random(s)) for s in range(200)
    ]
    assert again == answers


def test_the_answerer_counts_the_prompt_when_not_told() -> None:
    answerer = Answerer(
        TaskPrompts.from_dir(prober_tasks_dir()), load_banks(None), 64, seed=3
    )
    prompt = context_prompt(200)
    tokens = tokenizer.count(prompt)
    wide = ModelProfile(effective_context=tokens)
    narrow = ModelProfile(effective_context=tokens - 1)

    hit = answerer.answer(wide, prompt, 64, random.Random(1))
    miss = answerer.answer(narrow, prompt, 64, random.Random(1))

    assert hit.content.text == "QX-7351-LMRD" and hit.source == "retrieval"
    assert "QX-7351-LMRD" not in miss.content.text


async def test_over_http_the_effective_context_decides(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    short, long = context_prompt(20), context_prompt(400)
    limit = (tokenizer.count(short) + tokenizer.count(long)) // 2
    model = {**FAST, "context_window": 65536, "effective_context": limit}
    url = await serve(profiles_of({"m": model}))

    answers = {}
    for name, prompt in (("short", short), ("long", long)):
        body = chat_body(
            "m", prompt, stream=True, stream_options={"include_usage": True}
        )
        stream = await read_stream(http, url, body)
        usage = stream.json_chunks()[-1]["usage"]
        assert usage["prompt_tokens"] == tokenizer.count(prompt)
        answers[name] = stream.content()

    assert answers["short"] == "QX-7351-LMRD"
    assert "QX-7351-LMRD" not in answers["long"]
