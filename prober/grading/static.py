"""Reading code and prose without running anything: the checks every task
shares (how much is explained, how much is commented, what is mentioned)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_C_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_COMPLEXITY = re.compile(r"\bO\s*\(\s*[^)]{1,20}\)|time complexity|linear time", re.I)

MAX_ANSWER_CHARS = 200_000


def bounded(answer: str) -> str:
    """Answers are capped by max_tokens upstream; a grader still refuses to
    spend time on more text than any real answer carries."""
    return answer[:MAX_ANSWER_CHARS]


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def mentions(text: str, *patterns: str) -> bool:
    """Whether any of the regular expressions occurs, case-insensitively."""
    return any(re.search(pattern, text, re.IGNORECASE) for pattern in patterns)


def mentions_complexity(text: str) -> bool:
    return _COMPLEXITY.search(text) is not None


def code_lines(code: str) -> int:
    return sum(1 for line in code.splitlines() if line.strip())


def c_comments(code: str) -> list[str]:
    """Comments of C-family code: JavaScript, TypeScript, Go."""
    return _C_COMMENT.findall(_without_strings(code))


def comment_ratio(comments: list[str], code: str) -> float:
    """Comment lines per non-blank line of code."""
    lines = sum(max(1, comment.count("\n") + 1) for comment in comments)
    return lines / max(1, code_lines(code))


def _without_strings(code: str) -> str:
    # A URL in a string ("http://...") is not a comment.
    return re.sub(r"'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"", "''", code)
