"""Grader for the race-condition task (JavaScript): the seed's fetch snippet.

A good answer names the race, explains why ``console.log`` runs before the
promise settles (``fetch`` returns at once; the callbacks run later, from
the event loop, after the synchronous code), and fixes it by waiting for the
data, preferably with async/await and try/catch.

The fixed code runs under Node against a stubbed ``fetch``
(``harness/race.js``): once with data arriving after 20 ms (is it used only
after it arrives?), once with a network failure (is the rejection handled?)
and once with an HTTP 500 (is ``response.ok`` checked?). Without node the
grade is static.
"""

from __future__ import annotations

import json
import re

from prober.grading import extract, jsparts, static
from prober.grading.execute import Executor, Report
from prober.grading.result import Part
from prober.grading.scorecard import Scorecard

TASK = "race-condition"

_ORIGINAL = "fetch('/api/data').then(r => r.json()).then(d => data = d);"
_CORRECTNESS = {"runs": 1.0, "fetch-called": 1.0, "data-delivered": 3.0}
_WHY = (
    r"event loop",
    r"micro-?task",
    r"(callback|task|job) queue",
    r"non-?blocking",
    r"(does not|doesn't|do not|don't) wait",
    r"without waiting",
    r"synchronous(ly)?\b",
    r"immediately",
    r"before the (promise|fetch|request|data|response)",
)


def grade_race(answer: str, executor: Executor) -> Scorecard:
    card = Scorecard(TASK)
    answer = static.bounded(answer)
    explanation = extract.prose(answer)
    found = jsparts.choose_and_assemble(answer, _rank)
    _score_diagnosis(card, explanation)
    if found is None:
        card.note("no fixed JavaScript found in the answer")
        _score_absent(card)
        _score_documentation(card, "", explanation)
        return card
    block, code = found
    report = _run(executor, code, block.language)
    if report.ran:
        card.executed()
        _score_executed(card, report)
    else:
        card.note(f"static checks only: {report.unavailable}")
        _score_static(card, code)
    _score_code_quality(card, code)
    _score_documentation(card, code, explanation)
    return card


def _run(executor: Executor, code: str, language: str) -> Report:
    meta = {"names": jsparts.definitions(code)}
    files = {"answer.js": code, "meta.json": json.dumps(meta)}
    # TypeScript or ES-module syntax needs the compiler; plain scripts do not.
    needs_compiler = language == "typescript" or re.search(
        r"^\s*import\s|:\s*(string|number|Promise<|unknown)\b", code, re.MULTILINE
    )
    packages = "required" if needs_compiler else "optional"
    return executor.node("race.js", files, "answer.js", "meta.json", packages=packages)


def _rank(block: extract.CodeBlock) -> float:
    code = block.code
    if "fetch" not in code:
        return 0.0
    if _normalised(code) == _normalised(_ORIGINAL) or (
        "await" not in code
        and re.search(r"^\s*console\.log\(data\)", code, re.M)
        and "let data = null" in code
    ):
        # The snippet repeated back, or the bug shown again.
        return 0.5
    rank = 1.0
    rank += 2.0 * ("await" in code)
    rank += "try" in code
    rank += "async" in code
    return rank


def _normalised(code: str) -> str:
    without_comments = re.sub(r"//[^\n]*", "", code)
    return re.sub(r"\s+", "", without_comments).replace('"', "'")


def _score_diagnosis(card: Scorecard, explanation: str) -> None:
    names_race = static.mentions(explanation, r"race", r"timing", r"asynchron")
    card.check(Part.CORRECTNESS, "identifies-race", names_race)


def _score_executed(card: Scorecard, report: Report) -> None:
    report.score(card, Part.CORRECTNESS, _CORRECTNESS)
    card.check(Part.CORRECTNESS, "no-premature-log", report.passed("no-premature-log"))
    card.check(
        Part.EDGE_CASES, "handles-rejection", report.passed("handles-rejection"), 1.5
    )
    card.check(
        Part.EDGE_CASES, "checks-response-ok", report.passed("checks-response-ok")
    )


def _score_static(card: Scorecard, code: str) -> None:
    waits = static.mentions(code, r"\bawait\b", r"\.then\([^)]*=>[^;]*console\.log")
    card.check(Part.CORRECTNESS, "static-waits-for-data", waits, weight=5.0)
    card.check(
        Part.EDGE_CASES,
        "static-handles-rejection",
        static.mentions(code, r"\bcatch\b"),
        1.5,
    )
    card.check(
        Part.EDGE_CASES,
        "static-checks-response-ok",
        static.mentions(code, r"\.ok\b", r"\.status\b"),
    )


def _score_absent(card: Scorecard) -> None:
    card.check(Part.CORRECTNESS, "fix-present", False, weight=6.0)
    card.check(Part.EDGE_CASES, "edge-cases", False)
    card.check(Part.CODE_QUALITY, "code-present", False)


def _score_code_quality(card: Scorecard, code: str) -> None:
    # Top-level await in a module needs no async keyword.
    uses_await = static.mentions(code, r"\bawait\b")
    card.check(Part.CODE_QUALITY, "async-await", uses_await, weight=1.5)
    card.check(Part.EDGE_CASES, "try-catch", static.mentions(code, r"\btry\s*\{"))
    card.check(Part.CODE_QUALITY, "no-var", not re.search(r"\bvar\s", code), 0.5)
    encapsulated = static.mentions(
        code,
        r"(async\s+)?function\s*\w*\s*\([^)]*\)\s*\{[^}]*fetch",
        r"=\s*async\s*(\([^)]*\)|\w+)\s*=>",
    )
    card.check(Part.CODE_QUALITY, "encapsulated", encapsulated)
    card.check(
        Part.CODE_QUALITY, "returns-data", static.mentions(code, r"\breturn\b"), 0.5
    )
    card.check(
        Part.CODE_QUALITY,
        "errors-to-stderr",
        static.mentions(code, r"console\.error", r"\bthrow\b"),
        0.5,
    )
    mixed = "await" in code and ".then(" in code
    card.check(Part.CODE_QUALITY, "one-async-style", not mixed, 0.5)


def _score_documentation(card: Scorecard, code: str, explanation: str) -> None:
    card.check(
        Part.DOCUMENTATION, "explains-why", static.mentions(explanation, *_WHY), 2.0
    )
    card.check(
        Part.DOCUMENTATION,
        "explains-fix",
        static.mentions(explanation, r"await")
        and static.mentions(explanation, r"wait", r"pause", r"until", r"resolve"),
    )
    comments = static.c_comments(code)
    card.check(
        Part.DOCUMENTATION,
        "code-comments",
        min(1.0, static.comment_ratio(comments, code) / 0.1),
    )
    card.check(Part.DOCUMENTATION, "explanation", static.word_count(explanation) >= 60)
