"""Checks add up to a grade: the one place where the scoring rule lives.

Each grader records checks as it goes: a stable name, the part it counts
towards, a weight, and how much of it the answer earned (0.0-1.0, usually all
or nothing). A part's score is 10 times its earned weight over its total
weight. Two rules then apply to every task alike:

- documentation and code quality of code that does not work are worth less:
  when correctness is under 5, both are scaled by ``0.5 + correctness / 10``
  (so code that fails every test keeps at most half of them);
- quality is the plain mean of the four parts, rounded to two decimals.
"""

from __future__ import annotations

from dataclasses import dataclass

from prober.grading.result import Grade, Method, Part


@dataclass(frozen=True)
class Check:
    """One named check and what the answer earned on it."""

    name: str
    part: Part
    weight: float
    earned: float

    @property
    def passed(self) -> bool:
        return self.earned >= 1.0


class Scorecard:
    """Collects the checks of one grading run and turns them into a Grade."""

    def __init__(self, task: str) -> None:
        self.task = task
        self.method = Method.STATIC
        self._checks: dict[str, Check] = {}
        self._notes: list[str] = []

    def check(
        self, part: Part, name: str, passed: bool | float, weight: float = 1.0
    ) -> bool:
        """Record a check; ``passed`` may be a fraction for partial credit."""
        if name in self._checks:
            raise ValueError(f"check {name!r} recorded twice for {self.task}")
        earned = min(1.0, max(0.0, float(passed)))
        self._checks[name] = Check(name, part, weight, earned)
        return earned >= 1.0

    def note(self, text: str) -> None:
        if text not in self._notes:
            self._notes.append(text)

    def executed(self) -> None:
        """Mark that hidden tests ran the answer's code."""
        self.method = Method.EXECUTED

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(self._checks.values())

    def part_score(self, part: Part) -> float:
        checks = [c for c in self._checks.values() if c.part is part]
        total = sum(c.weight for c in checks)
        if total == 0:
            return 0.0
        return 10.0 * sum(c.weight * c.earned for c in checks) / total

    def grade(self, duration_s: float) -> Grade:
        correctness = self.part_score(Part.CORRECTNESS)
        factor = min(1.0, 0.5 + correctness / 10.0)
        parts = {
            Part.CORRECTNESS: correctness,
            Part.CODE_QUALITY: self.part_score(Part.CODE_QUALITY) * factor,
            Part.DOCUMENTATION: self.part_score(Part.DOCUMENTATION) * factor,
            Part.EDGE_CASES: self.part_score(Part.EDGE_CASES),
        }
        rounded = {part: round(score, 2) for part, score in parts.items()}
        return Grade(
            task=self.task,
            quality=round(sum(parts.values()) / 4.0, 2),
            correctness=rounded[Part.CORRECTNESS],
            code_quality=rounded[Part.CODE_QUALITY],
            documentation=rounded[Part.DOCUMENTATION],
            edge_cases=rounded[Part.EDGE_CASES],
            method=self.method,
            failed_checks=tuple(c.name for c in self._checks.values() if not c.passed),
            notes=tuple(self._notes),
            duration_s=round(duration_s, 4),
        )
