"""The simulator's answer banks: each recorded score is what the grader gives.

When a grader changes on purpose, re-grade the bank and update its scores;
this test names every entry that moved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from prober.grading import TASKS, GradingSettings, grade

NODE_TASKS = {"race-condition", "dijkstra", "express-endpoint"}
Bank = Callable[[str], list[dict[str, Any]]]


@pytest.mark.parametrize("task", TASKS)
def test_bank_spans_the_tiers(task: str, bank: Bank) -> None:
    answers = bank(task)
    labels = [str(a["label"]) for a in answers]
    scores = [float(a["score"]) for a in answers]
    assert 8 <= len(answers) <= 14
    assert len(set(labels)) == len(labels)
    assert any(label.startswith("good") for label in labels)
    assert any("prose" in label for label in labels)
    assert max(scores) >= 9.9 and min(scores) <= 2.0
    # Mixes must be able to land a model anywhere from 7.5 to 9.4.
    assert sum(score >= 8.0 for score in scores) >= 2


@pytest.mark.parametrize("task", TASKS)
def test_recorded_scores_match_the_grader(
    task: str, settings: GradingSettings, bank: Bank, request: pytest.FixtureRequest
) -> None:
    if task in NODE_TASKS:
        request.getfixturevalue("packages_ready")
    moved = []
    for answer in bank(task):
        result = grade(task, str(answer["text"]), settings)
        recorded = float(answer["score"])
        if abs(result.quality - recorded) > 0.05:
            moved.append(
                f"{answer['label']}: recorded {recorded}, now {result.quality}"
            )
    assert not moved, "\n".join(moved)
