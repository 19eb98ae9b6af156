"""Grader for the flatten task (Python): flatten a nested list of any depth.

The answer's function runs against hidden cases (see ``harness/flatten.py``).
The documented spec the cases hold it to:

- lists are flattened at any depth, in order; the input is left unchanged,
  and calling twice gives the same result (no mutable default argument);
- strings, bytes and dicts are single elements, never split into pieces;
  falsy values (0, None, False, "") are kept;
- tuples are not lists: kept whole or flattened, both accepted;
- a generator or other iterable as the result is accepted;
- empty lists give [], nesting three times deeper than the recursion limit
  still works, and 140,000 elements take well under two seconds.

Python always runs when execution is allowed: it needs no package.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prober.grading import extract, static
from prober.grading.execute import Executor, Report
from prober.grading.result import Part
from prober.grading.scorecard import Scorecard

TASK = "flatten"
_PYTHON_START = re.compile(r"^(def |from |import |class |@)")

_CORRECTNESS = {
    "example": 3.0,
    "nested-mixed": 2.0,
    "already-flat": 1.0,
    "repeatable": 1.0,
    "input-unchanged": 1.0,
    "large-input": 1.0,
}
_EDGE_CASES = {
    "empty": 1.0,
    "empty-nested": 1.0,
    "strings-whole": 1.5,
    "falsy-kept": 1.0,
    "dicts-whole": 0.5,
    "tuples": 0.5,
    "deep-nesting": 2.0,
}


@dataclass(frozen=True)
class Candidate:
    """The chosen code and the function in it that does the flattening."""

    code: str
    tree: ast.Module
    function: ast.FunctionDef


def grade_flatten(answer: str, executor: Executor) -> Scorecard:
    card = Scorecard(TASK)
    answer = static.bounded(answer)
    candidate = find_candidate(answer)
    if candidate is None:
        card.note("no Python function found in the answer")
        _score_absent(card, answer)
        return card
    report = executor.python(
        "flatten.py",
        {"answer.py": candidate.code},
        "answer.py",
        candidate.function.name,
    )
    if report.ran:
        card.executed()
        _score_executed(card, report)
    else:
        card.note(f"static checks only: {report.unavailable}")
        _score_static(card, candidate)
    _score_code_quality(card, candidate)
    _score_documentation(card, candidate, answer)
    return card


def find_candidate(answer: str) -> Candidate | None:
    """The first Python block defining the best-named flatten function."""
    best: Candidate | None = None
    best_rank = 0
    blocks: list[extract.CodeBlock | None] = list(extract.code_blocks(answer))
    blocks = blocks or [_unfenced(answer)]
    for block in blocks:
        if block is None or block.language not in ("python", ""):
            continue
        tree = _parse(block.code)
        if tree is None:
            continue
        for function in _top_level_functions(tree):
            rank = _name_rank(function.name)
            if rank > best_rank:
                best, best_rank = Candidate(block.code, tree, function), rank
    return best


def _unfenced(answer: str) -> extract.CodeBlock | None:
    block = extract.unfenced_code(answer, _PYTHON_START)
    if block is None:
        return None
    lines = block.code.splitlines()
    # Prose after unfenced code is common; trim lines until it parses.
    for end in range(len(lines), 0, -1):
        code = "\n".join(lines[:end])
        if _parse(code) is not None:
            return extract.CodeBlock("", code, 0, fenced=False)
    return None


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _top_level_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    return [node for node in tree.body if isinstance(node, ast.FunctionDef)]


def _name_rank(name: str) -> int:
    lowered = name.lower()
    if lowered == "flatten":
        return 4
    if "flat" in lowered and not lowered.startswith("test"):
        return 3 if lowered.startswith("flatten") else 2
    return 1 if not lowered.startswith(("test", "main", "_")) else 0


def _score_executed(card: Scorecard, report: Report) -> None:
    loaded = report.passed("load")
    card.check(Part.CORRECTNESS, "runs", loaded, weight=1.0)
    report.score(card, Part.CORRECTNESS, _CORRECTNESS)
    report.score(card, Part.EDGE_CASES, _EDGE_CASES)


def _score_static(card: Scorecard, candidate: Candidate) -> None:
    """Without running: does the function have the shape of a flatten?"""
    facts = _facts(candidate.function)
    shaped = facts.checks_list and (facts.recursive or facts.uses_stack)
    card.check(Part.CORRECTNESS, "static-shape", shaped, weight=3.0)
    card.check(Part.CORRECTNESS, "static-returns", facts.returns, weight=1.0)
    card.check(Part.EDGE_CASES, "static-strings-whole", facts.checks_list)
    card.check(Part.EDGE_CASES, "static-deep-nesting", facts.uses_stack, weight=2.0)


def _score_absent(card: Scorecard, answer: str) -> None:
    card.check(Part.CORRECTNESS, "runs", False, weight=10.0)
    card.check(Part.EDGE_CASES, "edge-cases", False)
    card.check(Part.CODE_QUALITY, "code-present", False)
    explained = static.word_count(extract.prose(answer)) >= 40
    card.check(Part.DOCUMENTATION, "explanation", explained)
    card.check(Part.DOCUMENTATION, "docstring", False, weight=2.0)


def _score_code_quality(card: Scorecard, candidate: Candidate) -> None:
    function = candidate.function
    facts = _facts(function)
    card.check(Part.CODE_QUALITY, "type-hints", facts.annotated, weight=2.0)
    card.check(Part.CODE_QUALITY, "no-mutable-default", not facts.mutable_default)
    card.check(Part.CODE_QUALITY, "no-bare-except", not facts.bare_except)
    card.check(Part.CODE_QUALITY, "isinstance-check", facts.uses_isinstance, 0.5)
    card.check(Part.CODE_QUALITY, "returns-not-prints", not facts.prints, 0.5)
    card.check(Part.CODE_QUALITY, "no-global-state", not facts.global_state, 0.5)
    length = (function.end_lineno or function.lineno) - function.lineno + 1
    card.check(Part.CODE_QUALITY, "concise", length <= 40, 0.5)


def _score_documentation(card: Scorecard, candidate: Candidate, answer: str) -> None:
    docstring = ast.get_docstring(candidate.function) or ""
    explanation = extract.prose(answer)
    everything = f"{docstring}\n{explanation}\n{candidate.code}"
    detailed = static.mentions(
        docstring, r"\bargs?\b", r"\breturns?\b", r":param", ">>>", r"\bexample"
    )
    card.check(Part.DOCUMENTATION, "docstring", bool(docstring), weight=2.0)
    card.check(Part.DOCUMENTATION, "docstring-detail", detailed)
    card.check(Part.DOCUMENTATION, "explanation", static.word_count(explanation) >= 25)
    card.check(Part.DOCUMENTATION, "complexity", static.mentions_complexity(everything))
    card.check(
        Part.DOCUMENTATION,
        "usage-example",
        static.mentions(everything, r"flatten\w*\(\s*\[", ">>>"),
        weight=0.5,
    )


@dataclass(frozen=True)
class _Facts:
    annotated: float
    mutable_default: bool
    bare_except: bool
    uses_isinstance: bool
    prints: bool
    global_state: bool
    recursive: bool
    uses_stack: bool
    checks_list: bool
    returns: bool


def _facts(function: ast.FunctionDef) -> _Facts:
    nodes = list(ast.walk(function))
    calls = [n.func for n in nodes if isinstance(n, ast.Call)]
    names = {c.id for c in calls if isinstance(c, ast.Name)}
    names |= {c.attr for c in calls if isinstance(c, ast.Attribute)}
    defaults = function.args.defaults + function.args.kw_defaults
    source_names = {n.id for n in nodes if isinstance(n, ast.Name)}
    return _Facts(
        annotated=_annotation_share(function),
        mutable_default=any(
            isinstance(d, (ast.List, ast.Dict, ast.Set)) for d in defaults
        ),
        bare_except=any(
            isinstance(n, ast.ExceptHandler) and n.type is None for n in nodes
        ),
        uses_isinstance="isinstance" in names,
        prints="print" in names,
        global_state=any(isinstance(n, (ast.Global, ast.Nonlocal)) for n in nodes),
        recursive=function.name in names,
        uses_stack=bool({"pop", "popleft"} & names)
        and any(isinstance(n, ast.While) for n in nodes),
        checks_list="list" in source_names or "Iterable" in source_names,
        returns=any(
            isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)) for n in nodes
        ),
    )


def _annotation_share(function: ast.FunctionDef) -> float:
    """1.0 with every parameter and the return annotated, 0.5 with some."""
    arguments = function.args.posonlyargs + function.args.args
    arguments += function.args.kwonlyargs
    wanted = len(arguments) + 1
    present = sum(a.annotation is not None for a in arguments)
    present += function.returns is not None
    if present == wanted:
        return 1.0
    return 0.5 if present else 0.0
