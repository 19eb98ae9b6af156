"""The simulator's documented tokenizer."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator import tokenizer

pytestmark = pytest.mark.timeout(30)


def test_splits_as_documented() -> None:
    assert tokenizer.split(" flatten(x)") == [" flat", "ten", "(", "x", ")"]
    assert tokenizer.split("pong") == ["pong"]
    assert tokenizer.split("a  b \n") == ["a", "  b", " \n"]


@given(st.text())
def test_is_lossless_and_counts_its_own_split(text: str) -> None:
    tokens = tokenizer.split(text)

    assert "".join(tokens) == text
    assert tokenizer.count(text) == len(tokens)
    assert all(tokens)


@given(st.text(min_size=1))
def test_escaped_tokens_rebuild_a_json_string(text: str) -> None:
    escaped = b"".join(tokenizer.escape(t) for t in tokenizer.split(text))

    assert json.loads(b'"' + escaped + b'"') == text


def test_source_code_comes_out_at_three_to_four_characters_a_token() -> None:
    code = Path(tokenizer.__file__).read_text()

    assert 2.5 < len(code) / tokenizer.count(code) < 4.5
