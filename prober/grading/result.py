"""The grade of one answer: four equally weighted parts and how they were found.

A :class:`Grade` is what the rest of prober stores and shows. ``quality`` is
the mean of the four parts, each 0-10, the way the seed report scored its
answers: correctness, code quality, documentation and edge-case handling.
``method`` says whether any of the answer's code was run (``executed``) or the
grade rests on reading it alone (``static``); ``failed_checks`` names every
check the answer missed, so a quality drop can be explained from the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Part(StrEnum):
    """The four equally weighted parts of a quality score."""

    CORRECTNESS = "correctness"
    CODE_QUALITY = "code_quality"
    DOCUMENTATION = "documentation"
    EDGE_CASES = "edge_cases"


class Method(StrEnum):
    """How a grade was reached: by running code, or by reading it."""

    EXECUTED = "executed"
    STATIC = "static"


@dataclass(frozen=True)
class Grade:
    """One graded answer.

    Attributes:
        task: the task name, e.g. ``"flatten"``.
        quality: 0-10, the mean of the four parts.
        correctness, code_quality, documentation, edge_cases: each 0-10.
        method: ``executed`` when hidden tests ran the code, else ``static``.
        failed_checks: stable short names of the checks the answer missed.
        notes: why execution was skipped or cut short, when it was.
        duration_s: wall time spent grading, in seconds.
    """

    task: str
    quality: float
    correctness: float
    code_quality: float
    documentation: float
    edge_cases: float
    method: Method
    failed_checks: tuple[str, ...]
    notes: tuple[str, ...] = ()
    duration_s: float = 0.0

    @property
    def parts(self) -> dict[str, float]:
        """The four parts by name."""
        return {part.value: getattr(self, part.value) for part in Part}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the same field names as the attributes."""
        return {
            "task": self.task,
            "quality": self.quality,
            **self.parts,
            "method": self.method.value,
            "failed_checks": list(self.failed_checks),
            "notes": list(self.notes),
            "duration_s": self.duration_s,
        }
