"""The grader of each task, and the entry point that runs one.

:func:`grade` is synchronous and may block for several seconds while answer
code runs in the sandbox: call it from a worker thread or process, never on
the event loop that times requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prober.grading.dijkstra import grade_dijkstra
from prober.grading.execute import Executor
from prober.grading.express import grade_express
from prober.grading.flatten import grade_flatten
from prober.grading.race import grade_race
from prober.grading.result import Grade
from prober.grading.review import grade_review
from prober.grading.scorecard import Scorecard
from prober.grading.settings import GradingSettings

logger = logging.getLogger(__name__)

Grader = Callable[[str, Executor], Scorecard]

GRADERS: dict[str, Grader] = {
    "flatten": grade_flatten,
    "race-condition": grade_race,
    "dijkstra": grade_dijkstra,
    "code-review": grade_review,
    "express-endpoint": grade_express,
}
TASKS = tuple(GRADERS)


class UnknownTaskError(KeyError):
    """The task has no grader; the message lists the tasks that have one."""

    def __str__(self) -> str:
        return f"no grader for task {self.args[0]!r}; known: {', '.join(TASKS)}"


def grade(task: str, answer: str, settings: GradingSettings | None = None) -> Grade:
    """Grade one answer to ``task``; any text gets a Grade, never an error.

    Raises :class:`UnknownTaskError` for a task without a grader.
    """
    grader = GRADERS.get(task)
    if grader is None:
        raise UnknownTaskError(task)
    started = time.perf_counter()
    card = grader(answer, Executor(settings or GradingSettings()))
    result = card.grade(time.perf_counter() - started)
    logger.debug(
        "graded %s: quality %.2f (%s) in %.3fs",
        task,
        result.quality,
        result.method.value,
        result.duration_s,
    )
    return result
