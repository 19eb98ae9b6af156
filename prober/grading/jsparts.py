"""Picking and assembling JavaScript or TypeScript from an answer.

Answers often split their code: the ``MinHeap`` in one block, ``dijkstra``
in the next, a usage example last. The block that defines what the task asks
for is chosen, and the other blocks that define names it uses but lacks are
put in front of it, in their original order.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from prober.grading import extract

_DEFINITION = re.compile(
    r"^\s*(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?"
    r"(?:async\s+)?(?:function\s*\*?\s*|class\s+|interface\s+|type\s+|enum\s+|"
    r"(?:const|let|var)\s+)([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_JS_START = re.compile(
    r"^(?:import |export |const |let |var |function |async function |class |"
    r"type |interface |'use strict'|\"use strict\"|app\.|require\()"
)
SCRIPT_LANGUAGES = ("javascript", "typescript", "")


def definitions(code: str) -> list[str]:
    """Top-level-looking names a piece of JavaScript or TypeScript defines."""
    return list(dict.fromkeys(_DEFINITION.findall(code)))


def script_blocks(answer: str) -> list[extract.CodeBlock]:
    blocks = [b for b in extract.code_blocks(answer) if b.language in SCRIPT_LANGUAGES]
    if blocks or extract.code_blocks(answer):
        return blocks
    unfenced = extract.unfenced_code(answer, _JS_START)
    return [unfenced] if unfenced is not None else []


def choose_and_assemble(
    answer: str, rank: Callable[[extract.CodeBlock], float]
) -> tuple[extract.CodeBlock, str] | None:
    """The best block by ``rank`` and its code with the blocks it needs."""
    blocks = script_blocks(answer)
    chosen = extract.choose(blocks, rank)
    if chosen is None:
        return None
    own = set(definitions(chosen.code))
    used = set(_IDENTIFIER.findall(chosen.code)) - own
    needed = [
        block.code
        for block in blocks
        if block is not chosen
        and used & set(definitions(block.code))
        and not own & set(definitions(block.code))
    ]
    return chosen, "\n\n".join([*needed, chosen.code])
