"""Grader for the dijkstra task (TypeScript): shortest paths with a MinHeap.

The prompt pins the graph type and the two exported functions, so hidden
tests (``harness/dijkstra.js``) can run the answer: a worked example, 25
random graphs checked against Bellman-Ford, predecessors, paths checked by
their cost, the edge cases the prompt names (unreachable nodes, nodes that
are only edge targets, a missing source, negative weights, a path to itself,
a missing target), the ``MinHeap`` on its own, and a 20,000-node graph that
only a heap-based answer finishes within three seconds. The code is transpiled and
type-checked in strict mode by the ``typescript`` npm package; without node
or the package, the grade is static.
"""

from __future__ import annotations

import json
import re

from prober.grading import extract, jsparts, static
from prober.grading.execute import Executor, Report
from prober.grading.result import Part
from prober.grading.scorecard import Scorecard

TASK = "dijkstra"

_CORRECTNESS = {
    "example": 2.0,
    "random-graphs": 3.0,
    "previous-map": 1.0,
    "path": 1.0,
    "random-paths": 2.0,
    "min-heap": 2.0,
    "scales": 2.0,
}
_EDGE_CASES = {
    "unreachable": 1.5,
    "target-only-node": 1.0,
    "single-node": 0.5,
    "zero-and-parallel-edges": 1.0,
    "missing-source-throws": 1.0,
    "negative-weight-throws": 1.0,
    "path-to-self": 0.5,
    "path-missing-target": 0.5,
}


def grade_dijkstra(answer: str, executor: Executor) -> Scorecard:
    card = Scorecard(TASK)
    answer = static.bounded(answer)
    found = jsparts.choose_and_assemble(answer, _rank)
    if found is None:
        card.note("no TypeScript defining dijkstra found in the answer")
        _score_absent(card, answer)
        return card
    _, code = found
    names = jsparts.definitions(code)
    meta = {
        "names": names,
        "typecheck": executor.settings.typecheck,
        "dijkstra": _pick(names, r"^dijkstra$", r"dijkstra", r"shortest.*(dist|path)s"),
        "shortestPath": _pick(names, r"^shortestPath$", r"shortest.*path", r"path"),
    }
    report = executor.node(
        "dijkstra.js",
        {"answer.ts": code, "meta.json": json.dumps(meta)},
        "answer.ts",
        "meta.json",
        packages="required",
    )
    if report.ran and report.passed("typescript"):
        card.executed()
        _score_executed(card, report)
    else:
        card.note(f"static checks only: {report.unavailable or 'no typescript'}")
        _score_static(card, code)
    _score_code_quality(card, code, report)
    _score_documentation(card, code, answer)
    return card


def _rank(block: extract.CodeBlock) -> float:
    defined = " ".join(jsparts.definitions(block.code)).lower()
    if "dijkstra" not in defined:
        return 0.0
    rank = 3.0
    rank += block.language == "typescript"
    rank += "class MinHeap" in block.code
    return rank


def _pick(names: list[str], *patterns: str) -> str:
    for pattern in patterns:
        for name in names:
            if re.search(pattern, name, re.IGNORECASE):
                return name
    return ""


def _score_executed(card: Scorecard, report: Report) -> None:
    card.check(Part.CORRECTNESS, "runs", report.passed("load"))
    report.score(card, Part.CORRECTNESS, _CORRECTNESS)
    report.score(card, Part.EDGE_CASES, _EDGE_CASES)


def _score_static(card: Scorecard, code: str) -> None:
    """Without running: the shape of a heap-based Dijkstra."""
    shaped = static.mentions(code, r"Infinity") and static.mentions(
        code, r"<\s*\w*(dist|distance)", r"new\w*\s*<", r"\+\s*\w*\.?weight"
    )
    card.check(Part.CORRECTNESS, "static-relaxation", shaped, weight=3.0)
    card.check(
        Part.CORRECTNESS,
        "static-heap",
        static.mentions(
            code, r"bubble|sift|heapify", r"Math\.floor\(\s*\(\s*\w+\s*-\s*1"
        ),
        weight=2.0,
    )
    card.check(
        Part.CORRECTNESS,
        "static-path",
        static.mentions(code, r"function\s+shortestPath", r"shortestPath\s*="),
    )
    card.check(Part.EDGE_CASES, "static-unreachable", "Infinity" in code)
    card.check(
        Part.EDGE_CASES,
        "static-negative-weight",
        static.mentions(code, r"weight\s*<\s*0", r"negative"),
    )
    card.check(
        Part.EDGE_CASES,
        "static-missing-source",
        static.mentions(code, r"\.has\(\s*source\s*\)", r"not in (the )?graph"),
    )


def _score_absent(card: Scorecard, answer: str) -> None:
    card.check(Part.CORRECTNESS, "runs", False, weight=10.0)
    card.check(Part.EDGE_CASES, "edge-cases", False)
    card.check(Part.CODE_QUALITY, "code-present", False)
    explained = static.word_count(extract.prose(answer)) >= 40
    card.check(Part.DOCUMENTATION, "explanation", explained)
    card.check(Part.DOCUMENTATION, "comments", False, weight=2.0)


def _score_code_quality(card: Scorecard, code: str, report: Report) -> None:
    if report.ran and "typecheck" in report.cases:
        card.check(Part.CODE_QUALITY, "typecheck", _typecheck_share(report), 2.0)
    card.check(
        Part.CODE_QUALITY,
        "no-any",
        not static.mentions(code, r"[:<,]\s*any\b", r"as any"),
    )
    card.check(Part.CODE_QUALITY, "min-heap-class", "class MinHeap" in code)
    card.check(Part.CODE_QUALITY, "generic-heap", "class MinHeap<" in code, 0.5)
    card.check(
        Part.CODE_QUALITY,
        "typed-signature",
        static.mentions(code, r"function\s+dijkstra\s*\([^)]*:\s*\w+[^)]*\)\s*:"),
    )
    card.check(
        Part.CODE_QUALITY,
        "exports",
        static.mentions(code, r"export\s+(function|const)\s+dijkstra"),
        0.5,
    )
    card.check(Part.CODE_QUALITY, "no-sort-per-step", ".sort(" not in code, 0.5)


def _typecheck_share(report: Report) -> float:
    errors = report.value("typecheck", "errors", 0)
    if not isinstance(errors, int):
        return 0.0
    # One stray error costs half; many mean the types were an afterthought.
    return {0: 1.0, 1: 0.5, 2: 0.25}.get(errors, 0.0)


def _score_documentation(card: Scorecard, code: str, answer: str) -> None:
    comments = static.c_comments(code)
    explanation = extract.prose(answer)
    ratio = static.comment_ratio(comments, code)
    card.check(Part.DOCUMENTATION, "comments", min(1.0, ratio / 0.15), weight=2.0)
    card.check(Part.DOCUMENTATION, "doc-comments", "/**" in code)
    card.check(Part.DOCUMENTATION, "explanation", static.word_count(explanation) >= 30)
    card.check(
        Part.DOCUMENTATION,
        "complexity",
        static.mentions_complexity(f"{explanation}\n{code}"),
    )
