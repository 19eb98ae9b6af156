"""Finding code in chat answers."""

from __future__ import annotations

from prober.grading.extract import code_blocks, prose, strip_reasoning
from prober.grading.flatten import find_candidate
from prober.grading.jsparts import choose_and_assemble, definitions


def test_tagged_and_untagged_fences() -> None:
    answer = "Intro\n```py\nx = 1\n```\nmiddle\n```\ny = 2\n```\n~~~js\nz()\n~~~\n"
    blocks = code_blocks(answer)
    assert [(b.language, b.code) for b in blocks] == [
        ("python", "x = 1"),
        ("", "y = 2"),
        ("javascript", "z()"),
    ]
    assert prose(answer).split() == ["Intro", "middle"]


def test_unclosed_fence_runs_to_the_end() -> None:
    blocks = code_blocks("Here:\n```python\ndef f():\n    return 1\n")
    assert blocks[0].code == "def f():\n    return 1"


def test_fence_inside_a_list_item_is_dedented() -> None:
    answer = "1. Fix it:\n   ```python\n   def f():\n       return 1\n   ```\n"
    assert code_blocks(answer)[0].code == "def f():\n    return 1"


def test_longer_fence_holds_a_shorter_one() -> None:
    answer = "````md\n```python\nx = 1\n```\n````\n"
    assert code_blocks(answer)[0].code == "```python\nx = 1\n```"


def test_reasoning_section_is_dropped() -> None:
    answer = "<think>maybe ```python\nbad(\n``` no</think>\n```python\ngood = 1\n```"
    assert strip_reasoning(answer).strip().startswith("```python")
    assert [b.code for b in code_blocks(answer)] == ["good = 1"]


def test_flatten_candidate_prefers_the_function_named_flatten() -> None:
    answer = (
        "```python\ndef helper(x):\n    return x\n```\n"
        "```python\ndef flatten_list(x):\n    return x\n\n"
        "def flatten(x):\n    return x\n```\n"
        "```python\nprint(flatten([1]))\n```\n"
    )
    candidate = find_candidate(answer)
    assert candidate is not None
    assert candidate.function.name == "flatten"


def test_flatten_candidate_without_fences_ignores_trailing_prose() -> None:
    answer = (
        "Sure.\n\ndef deep_flatten(items):\n    out = []\n    return out\n\n"
        "This works for any depth.\n"
    )
    candidate = find_candidate(answer)
    assert candidate is not None
    assert candidate.function.name == "deep_flatten"


def test_blocks_a_chosen_block_needs_are_put_in_front() -> None:
    answer = (
        "```ts\nclass MinHeap<T> { items: T[] = []; }\n```\n"
        "```ts\nexport function dijkstra(g: Graph, s: string) {\n"
        "  const q = new MinHeap<string>();\n}\n```\n"
        "```ts\nconsole.log(dijkstra(graph, 'A'));\n```\n"
    )
    found = choose_and_assemble(answer, lambda b: float("function dijkstra" in b.code))
    assert found is not None
    _, code = found
    assert code.index("class MinHeap") < code.index("function dijkstra")
    assert "console.log" not in code


def test_definitions_cover_js_and_ts_forms() -> None:
    code = (
        "export async function a() {}\nconst b = () => 1;\nclass C {}\n"
        "export default function d() {}\ninterface E {}\ntype F = string;\nlet g;\n"
    )
    assert definitions(code) == ["a", "b", "C", "d", "E", "F", "g"]
