"""The sweep's prompts: deterministic padding per seed, sized as asked, the
needle at its depth, and a format the simulator reads from the text alone."""

from __future__ import annotations

import time

import pytest

from prober.context.plan import TokenEstimate
from prober.context.prompt import ContextPrompt, PromptTemplate, build_prompt
from simulator import tokenizer
from simulator.retrieval import find_retrieval

pytestmark = pytest.mark.timeout(30)

TEMPLATE = PromptTemplate.load()
ESTIMATE = TokenEstimate()


def prompt_of(seed: str, tokens: int, depth: float) -> ContextPrompt:
    return build_prompt(TEMPLATE, seed, tokens, depth, ESTIMATE)


def test_a_seed_gives_the_same_prompt_and_another_seed_another() -> None:
    first = prompt_of("7:0", 20_000, 0.5)
    again = prompt_of("7:0", 20_000, 0.5)
    other = prompt_of("8:0", 20_000, 0.5)

    assert first == again
    assert other.text != first.text
    assert other.needle.fact != first.needle.fact


@pytest.mark.parametrize("tokens", [1_000, 16_000, 128_000])
def test_the_prompt_fills_its_size_by_the_estimate_without_passing_it(
    tokens: int,
) -> None:
    prompt = prompt_of("1:1", tokens, 0.1)

    estimated = ESTIMATE.tokens_for(prompt.padding_chars, prompt.fixed_chars)
    assert tokens - 20 <= estimated <= tokens
    assert prompt.padding_chars + prompt.fixed_chars == prompt.chars


@pytest.mark.parametrize("depth", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_the_needle_sits_at_its_depth_inside_the_padding(depth: float) -> None:
    prompt = prompt_of("2:3", 100_000, depth)
    start = len(TEMPLATE.introduction)
    end = prompt.text.index("Question: ")

    at = prompt.text.index(f"def {prompt.needle.function}(")

    assert (at - start) / (end - start) == pytest.approx(depth, abs=0.03)
    assert prompt.text.count(prompt.needle.function) == 2  # definition, question


def test_the_prompt_reads_as_source_code_files() -> None:
    text = prompt_of("4:0", 30_000, 0.5).text

    assert text.startswith(TEMPLATE.introduction)
    assert text.count("### file: src/") >= 3
    assert text.count("\ndef ") + text.count("\nclass ") > 20
    # Source code is three to four characters a token, as with real tokenizers.
    assert 2.5 < len(text) / tokenizer.count(text) < 4.5


def test_the_simulator_finds_the_question_and_the_fact() -> None:
    prompt = prompt_of("5:0", 20_000, 0.9)

    found = find_retrieval(prompt.text)

    assert found is not None
    assert (found.function, found.fact) == (prompt.needle.function, prompt.needle.fact)


def test_scoring_is_a_case_blind_string_match() -> None:
    needle = prompt_of("6:0", 2_000, 0.5).needle

    assert needle.found_in(f"The function returns `{needle.fact}`.")
    assert needle.found_in(needle.fact.lower())
    assert not needle.found_in("I could not find that function.")
    assert not needle.found_in(needle.fact[:-1])


def test_a_128k_token_prompt_is_made_in_well_under_a_second() -> None:
    began = time.perf_counter()
    prompt = prompt_of("9:0", 131072, 0.5)
    elapsed = time.perf_counter() - began

    assert prompt.chars > 400_000
    assert elapsed < 1.0
