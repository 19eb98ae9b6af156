"""Recognising probe prompts, drawing bank answers, filler and reasoning."""

import random
import statistics
from pathlib import Path

import pytest

from simulator import tokenizer
from simulator.answers import Answerer
from simulator.banks import BankError, load_banks
from simulator.profiles import ModelProfile, Reasoning
from simulator.tasks import TaskPrompts, prober_tasks_dir, strip_nonce

pytestmark = pytest.mark.timeout(10)

FLATTEN = (
    "Write a Python function that flattens a nested list of arbitrary depth. "
    "Example: flatten([1, [2, [3, 4]], 5]) returns [1, 2, 3, 4, 5]."
)
PING = "Reply with the single word: pong"


def answerer(banks_dir: Path | None) -> Answerer:
    prompts = TaskPrompts.from_dir(prober_tasks_dir())
    return Answerer(prompts, load_banks(banks_dir), default_max_tokens=64, seed=3)


def test_prober_task_files_are_found_without_importing_prober() -> None:
    directory = prober_tasks_dir()

    assert directory is not None and (directory / "ping.toml").is_file()


def test_the_nonce_line_is_stripped_before_recognising() -> None:
    prompts = TaskPrompts.from_dir(prober_tasks_dir())

    assert strip_nonce("nonce: 0f3a\n\nhello") == "hello"
    assert prompts.recognise(f"nonce: 9be1c2\n\n{FLATTEN}") == "flatten"
    assert prompts.recognise(PING) == "ping"
    assert prompts.recognise(f"nonce: 9be1c2\n\n{FLATTEN} Also in Rust.") is None


def test_a_missing_task_directory_means_filler_for_everything(tmp_path: Path) -> None:
    prompts = TaskPrompts.from_dir(tmp_path / "absent")

    assert prompts.recognise(PING) is None


def test_ping_is_answered_pong() -> None:
    answer = answerer(None).answer(
        ModelProfile(), f"nonce: ab\n\n{PING}", 16, random.Random(1)
    )

    assert answer.content.text == "pong"
    assert answer.finish_reason == "stop"


def test_bank_draws_average_to_the_model_target(example_banks: Path) -> None:
    model = ModelProfile(reference_quality=8.8)
    rng = random.Random(5)
    scores = {"weak": 6.0, "good": 8.5, "best": 9.5}

    book = answerer(example_banks)

    answers = [book.answer(model, FLATTEN, 2048, rng) for _ in range(4000)]

    labels = [a.source.split("/")[1] for a in answers]
    assert set(labels) == {"good", "best"}
    assert statistics.mean(scores[label] for label in labels) == pytest.approx(
        8.8, abs=0.05
    )


def test_per_task_quality_overrides_the_reference(example_banks: Path) -> None:
    model = ModelProfile(reference_quality=7.0, task_quality={"flatten": 9.5})

    answer = answerer(example_banks).answer(model, FLATTEN, 2048, random.Random(1))

    assert answer.source == "flatten/best"


def test_targets_outside_the_bank_take_the_nearest_answer(example_banks: Path) -> None:
    low, high = (
        ModelProfile(reference_quality=2.0),
        ModelProfile(reference_quality=10.0),
    )
    rng = random.Random(2)

    assert (
        answerer(example_banks).answer(low, FLATTEN, None, rng).source == "flatten/weak"
    )
    assert (
        answerer(example_banks).answer(high, FLATTEN, None, rng).source
        == "flatten/best"
    )


def test_bank_answers_are_cut_at_max_tokens(example_banks: Path) -> None:
    model = ModelProfile(reference_quality=9.5)

    answer = answerer(example_banks).answer(model, FLATTEN, 3, random.Random(1))

    assert len(answer.content) == 3
    assert answer.finish_reason == "length"


def test_without_a_bank_a_task_gets_filler_of_the_requested_length() -> None:
    answer = answerer(None).answer(ModelProfile(), FLATTEN, 300, random.Random(1))

    assert answer.source == "filler"
    assert len(answer.content) == 300
    assert answer.finish_reason == "length"


def test_filler_without_max_tokens_uses_the_default_length() -> None:
    answer = answerer(None).answer(ModelProfile(), "hi", None, random.Random(1))

    assert len(answer.content) == 64
    assert answer.finish_reason == "stop"


def test_long_filler_wraps_around_the_corpus() -> None:
    answer = answerer(None).answer(ModelProfile(), "hi", 20000, random.Random(1))

    assert len(answer.content) == 20000


def test_a_reasoning_model_thinks_longer_for_a_task_than_for_a_ping() -> None:
    model = ModelProfile(reasoning=Reasoning(median_tokens=400.0, sigma=0.0))
    rng = random.Random(1)

    ping = answerer(None).answer(model, PING, 16, rng)
    task = answerer(None).answer(model, FLATTEN, 16, rng)

    assert ping.content.text == "pong"
    assert len(ping.reasoning) == 40
    assert len(task.reasoning) == 120


def test_bank_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "flatten.toml").write_text(
        '[[answers]]\nlabel = "a"\nscore = 11.0\ntext = "x"\n'
    )

    with pytest.raises(BankError, match=r"flatten\.toml: answers\[0\]\.score:"):
        load_banks(tmp_path)


def test_bank_unknown_keys_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "flatten.toml").write_text(
        '[[answers]]\nlabel = "a"\nscore = 1.0\ntext = "x"\ngrade = 3\n'
    )

    with pytest.raises(BankError, match=r"answers\[0\]\.grade: unknown key"):
        load_banks(tmp_path)


def test_a_missing_bank_directory_gives_no_banks(tmp_path: Path) -> None:
    assert load_banks(tmp_path / "absent") == {}


def test_filler_and_reasoning_counts_match_the_tokenizer_on_their_text() -> None:
    model = ModelProfile(reasoning=Reasoning(median_tokens=300.0, sigma=0.5))
    book = answerer(None)
    rng = random.Random(9)

    for length in (1, 7, 64, 500, 9000):
        answer = book.answer(model, "hi", length, rng)
        assert tokenizer.count(answer.content.text) == len(answer.content) == length
        assert not answer.content.text[0].isspace()
        assert tokenizer.count(answer.reasoning.text) == len(answer.reasoning)
