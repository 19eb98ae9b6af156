"""Running hidden tests against an answer, and reading what they found.

A harness (``harness/`` beside this module) runs inside the sandbox next to
the answer's code and prints one line per test case, ``@@prober {json}``,
as soon as the case is decided; everything else the answer prints is
ignored. A run that is killed half-way still keeps the cases before the kill,
and a case that never reported counts as failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from prober.grading import npm, runtimes, sandbox
from prober.grading.result import Part
from prober.grading.sandbox import Job, RunOutcome, RunResult
from prober.grading.scorecard import Scorecard
from prober.grading.settings import GradingSettings

logger = logging.getLogger(__name__)

MARK = "@@prober "
# V8 aborts cleanly at this heap size, well inside the address-space limit.
_NODE_HEAP_MB = 384
# Node with the TypeScript compiler loaded needs over 1 GiB of address space
# for a 30 MB heap; 8x the memory limit leaves room and still bounds it.
_NODE_ADDRESS_SPACE_FACTOR = 8


@dataclass(frozen=True)
class Report:
    """The cases a harness decided, or why nothing ran.

    ``unavailable`` is empty when the harness ran at all; ``cases`` maps a
    case name to its record (``ok`` and ``detail``, and any extra fields the
    harness adds).
    """

    cases: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    run: RunResult | None = None
    unavailable: str = ""

    @property
    def ran(self) -> bool:
        return not self.unavailable

    def passed(self, case: str) -> bool:
        return self.cases.get(case, {}).get("ok") is True

    def value(self, case: str, key: str, default: Any = None) -> Any:
        return self.cases.get(case, {}).get(key, default)

    def cut_short(self) -> str:
        """Why the run ended early, or "" when it finished."""
        if self.run is None or self.run.outcome is RunOutcome.OK:
            return ""
        return self.run.outcome.value

    def score(self, card: Scorecard, part: Part, weights: Mapping[str, float]) -> None:
        """One check on ``card`` per hidden-test case, weighted."""
        if cut := self.cut_short():
            card.note(f"hidden tests ended early: {cut}")
        for case, weight in weights.items():
            card.check(part, case, self.passed(case), weight)


class Executor:
    """Runs harnesses for one grading under one set of settings."""

    def __init__(self, settings: GradingSettings) -> None:
        self.settings = settings

    def python(self, harness: str, files: Mapping[str, str], *args: str) -> Report:
        refusal = self._refusal()
        python = runtimes.python_executable(self.settings)
        if refusal or python is None:
            return Report(unavailable=refusal or "no usable Python interpreter")
        job = Job(
            argv=(python, "-I", "-S", harness, *args),
            files={**files, harness: _harness_text(harness)},
            read_only=_prefixes(python),
        )
        return self._run(job)

    def node(
        self,
        harness: str,
        files: Mapping[str, str],
        *args: str,
        packages: str = "none",
    ) -> Report:
        """Run a Node harness; ``packages`` is ``none``, ``optional`` (put the
        npm packages on NODE_PATH when installed) or ``required``."""
        refusal = self._refusal()
        node = runtimes.node_executable(self.settings)
        if refusal or node is None:
            return Report(unavailable=refusal or "node not found")
        read_only = _prefixes(node)
        env: dict[str, str] = {}
        modules = npm.installed_modules(self.settings) if packages != "none" else None
        if modules is not None and runtimes.reachable(modules):
            read_only += (modules,)
            env["NODE_PATH"] = str(modules)
        elif packages == "required":
            return Report(unavailable="npm packages not installed")
        job = Job(
            argv=(node, f"--max-old-space-size={_NODE_HEAP_MB}", harness, *args),
            files={
                **files,
                harness: _harness_text(harness),
                "common.js": _harness_text("common.js"),
            },
            read_only=read_only,
            env=env,
            address_space_factor=_NODE_ADDRESS_SPACE_FACTOR,
        )
        return self._run(job)

    def _refusal(self) -> str:
        if not self.settings.execute:
            return "execution disabled by settings"
        if sandbox.isolation_available(self.settings) is None:
            return "bubblewrap required but unusable"
        return ""

    def _run(self, job: Job) -> Report:
        result = sandbox.run(job, self.settings)
        if result.outcome is RunOutcome.UNAVAILABLE:
            return Report(run=result, unavailable=result.reason)
        cases = _parse(result.stdout)
        logger.debug(
            "harness %s: %s in %.3fs, %d cases",
            job.argv[-1],
            result.outcome.value,
            result.duration_s,
            len(cases),
        )
        return Report(cases=cases, run=result)


def _parse(stdout: str) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    for line in stdout.splitlines():
        if not line.startswith(MARK):
            continue
        try:
            record = json.loads(line[len(MARK) :])
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("case"), str):
            cases.setdefault(record["case"], record)
    return cases


def _harness_text(name: str) -> str:
    harness = resources.files("prober.grading").joinpath("harness").joinpath(name)
    return harness.read_text(encoding="utf-8")


def _prefixes(executable: str) -> tuple[Path, ...]:
    prefix = runtimes.install_prefix(executable)
    return () if prefix in (Path("/usr"), Path("/")) else (prefix,)
