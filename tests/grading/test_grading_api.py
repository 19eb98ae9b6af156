"""The public surface of prober.grading and its promises for any input."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import prober.grading as grading
from prober.grading import (
    TASKS,
    Grade,
    GradingSettings,
    Method,
    SandboxMode,
    UnknownTaskError,
    grade,
)


def test_public_names_are_pinned() -> None:
    assert sorted(grading.__all__) == [
        "Grade",
        "GradingSettings",
        "Method",
        "NodeSetupError",
        "Part",
        "SandboxMode",
        "TASKS",
        "UnknownTaskError",
        "grade",
        "install_node_packages",
    ]


def test_every_coding_task_has_a_grader() -> None:
    assert set(TASKS) == {
        "flatten",
        "race-condition",
        "dijkstra",
        "code-review",
        "express-endpoint",
    }


def test_unknown_task_names_the_known_ones() -> None:
    with pytest.raises(UnknownTaskError) as caught:
        grade("fizzbuzz", "print(1)")
    assert "fizzbuzz" in str(caught.value)
    assert "flatten" in str(caught.value)


def test_grade_to_dict_is_json_ready(static_only: GradingSettings) -> None:
    result = grade(
        "flatten", "```python\ndef flatten(x):\n    return x\n```", static_only
    )
    record = json.loads(json.dumps(result.to_dict()))
    assert set(record) == {
        "task",
        "quality",
        "correctness",
        "code_quality",
        "documentation",
        "edge_cases",
        "method",
        "failed_checks",
        "notes",
        "duration_s",
    }
    assert record["method"] == "static"
    assert record["notes"] == ["static checks only: execution disabled by settings"]


def test_quality_is_the_mean_of_the_parts(static_only: GradingSettings) -> None:
    result = grade(
        "code-review", "SQL injection: use parameterized queries.", static_only
    )
    assert result.quality == pytest.approx(sum(result.parts.values()) / 4, abs=0.01)


def test_settings_reject_unknown_keys_by_name() -> None:
    with pytest.raises(ValueError, match="wall_timeout"):
        GradingSettings.from_mapping({"wall_timeout": 3})


def test_settings_validate_limits() -> None:
    with pytest.raises(ValueError, match="cpu_limit_s"):
        GradingSettings(cpu_limit_s=0)
    assert GradingSettings.from_mapping({"sandbox": "required"}).sandbox is (
        SandboxMode.REQUIRED
    )


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize(
    "answer",
    ["", "   \n", "I cannot help with that.", "```\n```", "```python\n", "\x00\ud800"],
)
def test_any_text_gets_a_low_grade(
    task: str, answer: str, static_only: GradingSettings
) -> None:
    result = grade(task, answer, static_only)
    assert isinstance(result, Grade)
    assert 0.0 <= result.quality <= 2.0
    assert result.method is Method.STATIC


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    task=st.sampled_from(TASKS),
    answer=st.text(
        alphabet=st.sampled_from(list("`~ \n\tdef flatten():{}[]#/*<>think;=python")),
        max_size=300,
    ),
)
def test_fuzzed_answers_always_grade(task: str, answer: str) -> None:
    result = grade(task, answer, GradingSettings(execute=False))
    assert 0.0 <= result.quality <= 10.0
    for value in result.parts.values():
        assert 0.0 <= value <= 10.0
