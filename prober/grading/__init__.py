"""Grading probe answers: quality 0-10 from four equally weighted parts.

    from prober.grading import grade
    result = grade("flatten", answer_text)
    result.quality, result.method, result.failed_checks

Code in answers is untrusted and runs only inside :mod:`prober.grading.sandbox`.
:func:`grade` blocks while it runs: call it off the event loop.
"""

from prober.grading.graders import TASKS, UnknownTaskError, grade
from prober.grading.npm import NodeSetupError, install_node_packages
from prober.grading.result import Grade, Method, Part
from prober.grading.settings import GradingSettings, SandboxMode

__all__ = [
    "TASKS",
    "Grade",
    "GradingSettings",
    "Method",
    "NodeSetupError",
    "Part",
    "SandboxMode",
    "UnknownTaskError",
    "grade",
    "install_node_packages",
]
