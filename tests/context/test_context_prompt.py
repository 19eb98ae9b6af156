"""The sweep's prompts: deterministic padding per seed, sized as asked, the
needle at its depth, and a format the simulator reads from the text alone."""

from __future__ import annotations

import time

import pytest

from prober.context.prompt import PromptTemplate, build_prompt
from simulator import tokenizer
from simulator.retrieval import find_retrieval

pytestmark = pytest.mark.timeout(30)

TEMPLATE = PromptTemplate.load()


def test_a_seed_gives_the_same_prompt_and_another_seed_another() -> None:
    first = build_prompt(TEMPLATE, "7:0", 20_000, 0.5)
    again = build_prompt(TEMPLATE, "7:0", 20_000, 0.5)
    other = build_prompt(TEMPLATE, "8:0", 20_000, 0.5)

    assert first == again
    assert other.text != first.text
    assert other.needle.fact != first.needle.fact


@pytest.mark.parametrize("chars", [3_000, 50_000, 400_000])
def test_the_prompt_fills_its_size_without_passing_it(chars: int) -> None:
    prompt = build_prompt(TEMPLATE, "1:1", chars, 0.1)

    assert chars - 100 <= prompt.chars <= chars


@pytest.mark.parametrize("depth", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_the_needle_sits_at_its_depth_inside_the_padding(depth: float) -> None:
    prompt = build_prompt(TEMPLATE, "2:3", 100_000, depth)
    start = len(TEMPLATE.introduction)
    end = prompt.text.index("Question: ")

    at = prompt.text.index(f"def {prompt.needle.function}(")

    assert (at - start) / (end - start) == pytest.approx(depth, abs=0.03)
    assert prompt.text.count(prompt.needle.function) == 2  # definition, question


def test_the_prompt_reads_as_source_code_files() -> None:
    text = build_prompt(TEMPLATE, "4:0", 30_000, 0.5).text

    assert text.startswith(TEMPLATE.introduction)
    assert text.count("### file: src/") >= 3
    assert text.count("\ndef ") + text.count("\nclass ") > 20
    # Source code is three to four characters a token, as with real tokenizers.
    assert 2.5 < len(text) / tokenizer.count(text) < 4.5


def test_the_simulator_finds_the_question_and_the_fact() -> None:
    prompt = build_prompt(TEMPLATE, "5:0", 20_000, 0.9)

    found = find_retrieval(prompt.text)

    assert found is not None
    assert (found.function, found.fact) == (prompt.needle.function, prompt.needle.fact)


def test_scoring_is_a_case_blind_string_match() -> None:
    needle = build_prompt(TEMPLATE, "6:0", 2_000, 0.5).needle

    assert needle.found_in(f"The function returns `{needle.fact}`.")
    assert needle.found_in(needle.fact.lower())
    assert not needle.found_in("I could not find that function.")
    assert not needle.found_in(needle.fact[:-1])


def test_a_128k_token_prompt_is_made_in_well_under_a_second() -> None:
    began = time.perf_counter()
    prompt = build_prompt(TEMPLATE, "9:0", 131072 * 4, 0.5)
    elapsed = time.perf_counter() - began

    assert prompt.chars > 500_000
    assert elapsed < 1.0
