"""Grader for the express-endpoint task: GET /users with pagination and filters.

The answer is started under Node with the pinned ``express`` package
(``harness/express.js``): any port it asks for becomes an ephemeral loopback
port, and an app or router it only exports is started for it. The endpoint
is then called over HTTP: the listing and its JSON content type, pagination
metadata (page, limit, total), paging through every user two at a time,
filters by status, by role and by both (with a total that counts the
filtered users), and invalid queries, which should get 400 or 422.

Answers that need a database driver or any package other than express cannot
start here; they, and every answer when node or the packages are missing,
are graded statically.
"""

from __future__ import annotations

import json
import re

from prober.grading import extract, jsparts, static
from prober.grading.execute import Executor, Report
from prober.grading.result import Part
from prober.grading.scorecard import Scorecard

TASK = "express-endpoint"

_CORRECTNESS = {
    "lists-users": 1.0,
    "json-content-type": 0.5,
    "pagination-metadata": 1.5,
    "total-pages": 0.5,
    "paginates": 2.0,
    "filters-status": 1.0,
    "filters-role": 1.0,
    "filters-combined": 1.0,
    "filtered-total": 0.5,
}
_EDGE_CASES = {
    "rejects-bad-page": 1.0,
    "rejects-non-numeric": 1.0,
    "rejects-bad-limit": 1.0,
    "caps-limit": 1.0,
    "page-beyond-range": 1.0,
    "unknown-filter-value": 0.5,
}
_VALIDATION = ("rejects-bad-page", "rejects-non-numeric", "rejects-bad-limit")


def grade_express(answer: str, executor: Executor) -> Scorecard:
    card = Scorecard(TASK)
    answer = static.bounded(answer)
    found = jsparts.choose_and_assemble(answer, _rank)
    if found is None:
        card.note("no Express code defining GET /users found in the answer")
        _score_absent(card, answer)
        return card
    _, code = found
    report = _run(executor, code)
    missing = report.value("load", "missing", "")
    if report.ran and not missing:
        card.executed()
        _score_executed(card, report)
    else:
        reason = missing.splitlines()[0] if missing else report.unavailable
        card.note(f"static checks only: {reason}")
        _score_static(card, code)
    _score_code_quality(card, code)
    _score_documentation(card, code, answer)
    return card


def _run(executor: Executor, code: str) -> Report:
    meta = {"names": jsparts.definitions(code)}
    files = {"answer.js": code, "meta.json": json.dumps(meta)}
    return executor.node(
        "express.js", files, "answer.js", "meta.json", packages="required"
    )


def _rank(block: extract.CodeBlock) -> float:
    code = block.code
    if not re.search(r"\.get\(\s*['\"`]/(users)?['\"`]", code):
        return 0.0
    rank = 2.0
    rank += "express" in code
    rank += "req.query" in code
    rank += ".listen(" in code or "module.exports" in code or "export " in code
    return rank


def _score_executed(card: Scorecard, report: Report) -> None:
    card.check(Part.CORRECTNESS, "runs", report.passed("load"), weight=1.0)
    report.score(card, Part.CORRECTNESS, _CORRECTNESS)
    for case, weight in _EDGE_CASES.items():
        earned = 1.0 if report.passed(case) else 0.0
        if case in _VALIDATION and report.value(case, "clamped", False):
            # Clamping a bad value to the default is defensible, if quieter.
            earned = 0.5
        card.check(Part.EDGE_CASES, case, earned, weight)


def _score_static(card: Scorecard, code: str) -> None:
    reads = sum(
        static.mentions(code, rf"\b{name}\b")
        for name in ("page", "limit", "status", "role")
    )
    card.check(Part.CORRECTNESS, "static-reads-query", reads / 4, weight=2.0)
    card.check(
        Part.CORRECTNESS,
        "static-paginates",
        static.mentions(code, r"\.slice\(", r"\.skip\(", r"OFFSET", r"offset"),
        weight=2.0,
    )
    card.check(
        Part.CORRECTNESS,
        "static-filters",
        static.mentions(code, r"\.filter\(", r"where", r"\.find\(\s*\w+"),
        weight=2.0,
    )
    card.check(
        Part.CORRECTNESS,
        "static-metadata",
        static.mentions(code, r"total"),
        weight=2.0,
    )
    card.check(
        Part.EDGE_CASES,
        "static-validation",
        static.mentions(code, r"status\(\s*(400|422)\s*\)"),
        weight=3.0,
    )
    card.check(
        Part.EDGE_CASES,
        "static-caps-limit",
        static.mentions(code, r"Math\.min\(", r"MAX_LIMIT", r"limit\s*>\s*\d+"),
    )


def _score_absent(card: Scorecard, answer: str) -> None:
    card.check(Part.CORRECTNESS, "runs", False, weight=10.0)
    card.check(Part.EDGE_CASES, "edge-cases", False)
    card.check(Part.CODE_QUALITY, "code-present", False)
    explained = static.word_count(extract.prose(answer)) >= 40
    card.check(Part.DOCUMENTATION, "explanation", explained)
    card.check(Part.DOCUMENTATION, "comments", False, weight=2.0)


def _score_code_quality(card: Scorecard, code: str) -> None:
    card.check(
        Part.CODE_QUALITY,
        "parses-numbers",
        static.mentions(code, r"parseInt\(", r"Number\(", r"\+req\.query", r"toInt"),
    )
    card.check(
        Part.CODE_QUALITY,
        "status-codes",
        static.mentions(code, r"\.status\(\s*\d{3}\s*\)", r"sendStatus\("),
    )
    card.check(
        Part.CODE_QUALITY,
        "validation-separated",
        static.mentions(
            code,
            r"function\s+\w*(valid|parse|sanitize)\w*",
            r"(const|let)\s+\w*(valid|parse|sanitize)\w*\s*=",
            r"express-validator|zod|joi",
        ),
        0.5,
    )
    card.check(Part.CODE_QUALITY, "no-var", not re.search(r"\bvar\s", code), 0.5)
    card.check(
        Part.CODE_QUALITY,
        "error-handling",
        static.mentions(code, r"\(\s*err\w*\s*,\s*req\s*,\s*res\s*,\s*next\s*\)")
        or static.mentions(code, r"\btry\s*\{"),
        0.5,
    )
    card.check(
        Part.CODE_QUALITY,
        "named-constants",
        static.mentions(code, r"\b(DEFAULT|MAX)_[A-Z_]+\s*="),
        0.5,
    )


def _score_documentation(card: Scorecard, code: str, answer: str) -> None:
    explanation = extract.prose(answer)
    ratio = static.comment_ratio(static.c_comments(code), code)
    card.check(Part.DOCUMENTATION, "comments", min(1.0, ratio / 0.12), weight=2.0)
    card.check(Part.DOCUMENTATION, "explanation", static.word_count(explanation) >= 40)
    card.check(
        Part.DOCUMENTATION,
        "example-request",
        static.mentions(answer, r"/users\?\w+=", r"curl "),
    )
    card.check(
        Part.DOCUMENTATION,
        "example-response",
        static.mentions(answer, r"[\"']?(pagination|meta)[\"']?\s*:\s*\{"),
        0.5,
    )
