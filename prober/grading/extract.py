"""Finding the code in a chat answer.

Answers arrive as markdown: fenced blocks with or without a language tag,
several blocks (the fix, a usage example, the shell command to run it), prose
around them, sometimes an unclosed fence because the answer hit its token
limit, sometimes no fences at all, and from reasoning models a ``<think>``
section first. This module splits an answer into its code blocks and its
prose; each grader then picks the block that defines what its task asks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")

_LANGUAGES = {
    "python": ("python", "py", "python3", "py3", "ipython", "pycon"),
    "javascript": ("javascript", "js", "jsx", "node", "nodejs", "mjs", "cjs"),
    "typescript": ("typescript", "ts", "tsx"),
    "go": ("go", "golang"),
}
_CODE_START = re.compile(
    r"(?:(?:def|class|return|import|from|const|let|var|function|export|async|"
    r"if|for|while|type|interface|func|package)\b|#|//|@)"
)
_ALIASES = {alias: name for name, aliases in _LANGUAGES.items() for alias in aliases}


@dataclass(frozen=True)
class CodeBlock:
    """One piece of code from an answer.

    ``language`` is the normalised fence tag (``python``, ``javascript``,
    ``typescript``, ``go``), the raw tag for other languages, or ``""`` when
    the fence had none. ``index`` is the block's position in the answer.
    """

    language: str
    code: str
    index: int
    fenced: bool = True


def strip_reasoning(answer: str) -> str:
    """Drop ``<think>`` sections that some reasoning models put in content."""
    return _THINK.sub("", answer)


def code_blocks(answer: str) -> list[CodeBlock]:
    """The fenced code blocks of an answer, in order; an unclosed last fence
    runs to the end of the answer."""
    blocks: list[CodeBlock] = []
    lines = strip_reasoning(answer).splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        body, i = _read_fence(lines, i + 1, opening)
        blocks.append(CodeBlock(_language(opening["info"]), body, len(blocks)))
    return blocks


def prose(answer: str) -> str:
    """The answer with its fenced code removed: the explanation around it."""
    kept: list[str] = []
    lines = strip_reasoning(answer).splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            kept.append(lines[i])
            i += 1
            continue
        _, i = _read_fence(lines, i + 1, opening)
    return "\n".join(kept)


def choose(
    blocks: Iterable[CodeBlock], rank: Callable[[CodeBlock], float]
) -> CodeBlock | None:
    """The first block with the highest positive rank, or None."""
    best: CodeBlock | None = None
    best_rank = 0.0
    for block in blocks:
        score = rank(block)
        if score > best_rank:
            best, best_rank = block, score
    return best


def unfenced_code(answer: str, starts: re.Pattern[str]) -> CodeBlock | None:
    """Code in an answer without fences: from the first line matching
    ``starts`` to the last line that still looks like code."""
    lines = strip_reasoning(answer).splitlines()
    first = next((i for i, line in enumerate(lines) if starts.match(line)), None)
    if first is None:
        return None
    last = first
    for i in range(first, len(lines)):
        if _looks_like_code(lines[i]):
            last = i
        elif lines[i].strip() and not lines[i][0].isspace() and i > last + 1:
            break
    return CodeBlock("", "\n".join(lines[first : last + 1]), 0, fenced=False)


def _read_fence(lines: list[str], i: int, opening: re.Match[str]) -> tuple[str, int]:
    fence, indent = opening["fence"], len(opening["indent"])
    body: list[str] = []
    while i < len(lines):
        closing = _FENCE.match(lines[i])
        if (
            closing is not None
            and closing["fence"][0] == fence[0]
            and len(closing["fence"]) >= len(fence)
            and not closing["info"].strip()
        ):
            return "\n".join(body), i + 1
        body.append(_dedent(lines[i], indent))
        i += 1
    return "\n".join(body), i


def _dedent(line: str, indent: int) -> str:
    # Fences nested in list items are indented; their code carries the same
    # indentation, which Python in particular cannot tolerate.
    width = len(line) - len(line.lstrip(" \t"))
    return line[min(width, indent) :]


def _language(info: str) -> str:
    words = info.strip().lower().split()
    if not words:
        return ""
    tag = words[0].strip("{}.")
    return _ALIASES.get(tag, tag)


def _looks_like_code(line: str) -> bool:
    stripped = line.rstrip()
    if not stripped:
        return False
    if line[0] in " \t" or stripped[-1] in ";{}()[]:,":
        return True
    return _CODE_START.match(stripped) is not None
