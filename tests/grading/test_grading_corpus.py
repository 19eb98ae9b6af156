"""Answers written in other styles than the banks, with expected score bands.

Good answers land high, subtly wrong ones in the middle, wrong and prose-only
ones low, whatever the names, idioms or layout the model chose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from prober.grading import GradingSettings, Method, grade

FLATTEN = {
    "other-name-iterable-spec": (
        """Here's a version that treats any non-string iterable as nestable:

```python
from collections.abc import Iterable
from typing import Any


def deep_flatten(obj: Iterable[Any]) -> list[Any]:
    \"\"\"Flatten nested iterables (but not strings/bytes) without recursion.

    Returns a list; runs in O(n) time.
    \"\"\"
    out: list[Any] = []
    stack = [iter(obj)]
    while stack:
        try:
            item = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        if isinstance(item, Iterable) and not isinstance(item, (str, bytes, dict)):
            stack.append(iter(item))
        else:
            out.append(item)
    return out
```
""",
        8.5,
        10.0,
    ),
    "unfenced-recursive": (
        """def flatten(lst):
    out = []
    for el in lst:
        if type(el) is list:
            out += flatten(el)
        else:
            out.append(el)
    return out

This checks each element and recurses into lists.""",
        4.5,
        7.5,
    ),
    "generator-yield-from": (
        """```python
def flatten(seq):
    \"\"\"Yield leaves of a nested list.\"\"\"
    for x in seq:
        if isinstance(x, list):
            yield from flatten(x)
        else:
            yield x
```
Use `list(flatten(...))`. It's O(n) overall.""",
        5.5,
        8.5,
    ),
    "string-splitter": (
        """```python
def flatten(l):
    try:
        return [a for i in l for a in flatten(i)]
    except TypeError:
        return [l]
```""",
        1.0,
        5.0,
    ),
    "main-guard-prints": (
        """```python
def flatten(items: list) -> list:
    \"\"\"Return all items of a nested list in order.\"\"\"
    result = []
    stack = list(reversed(items))
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            result.append(item)
    return result


if __name__ == "__main__":
    print(flatten([1, [2, [3, 4]], 5]))
    while True:
        pass
```
The `if __name__` block only runs as a script; complexity O(n).""",
        8.0,
        10.0,
    ),
}

RACE = {
    "typescript-fix": (
        """The log runs synchronously, before the promise resolves, because fetch is
asynchronous and does not block: a race condition. Await it:

```ts
interface Payload { [key: string]: unknown }

async function loadData(): Promise<Payload | null> {
  try {
    const res: Response = await fetch('/api/data');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data: Payload = await res.json();
    console.log(data);
    return data;
  } catch (err: unknown) {
    console.error('failed', err);
    return null;
  }
}

loadData();
```
""",
        8.0,
        10.0,
    ),
    "top-level-await-module": (
        """In an ES module you can await at the top level, so the log waits until the
promise resolves:

```js
const response = await fetch('/api/data');
const data = await response.json();
console.log(data);
```
""",
        3.0,
        7.0,
    ),
    "defines-but-never-calls": (
        """Because fetch is asynchronous, console.log runs immediately. Fix:

```js
const getData = async () => {
  const res = await fetch('/api/data');
  return res.json();
};
```
""",
        3.5,
        7.5,
    ),
}

DIJKSTRA_SPLIT = """First the priority queue:

```typescript
export class MinHeap<T> {
  private heap: { item: T; key: number }[] = [];
  get length(): number { return this.heap.length; }
  insert(item: T, key: number): void {
    const h = this.heap;
    h.push({ item, key });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].key <= h[i].key) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }
  extractMin(): { item: T; key: number } | undefined {
    const h = this.heap;
    if (!h.length) return undefined;
    const top = h[0];
    const end = h.pop()!;
    if (h.length) {
      h[0] = end;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && h[l].key < h[m].key) m = l;
        if (r < h.length && h[r].key < h[m].key) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
```

Then the algorithm:

```typescript
type Graph = Map<string, Array<{ to: string; weight: number }>>;

export function dijkstra(graph: Graph, source: string) {
  if (!graph.has(source)) throw new Error('missing source');
  const distances = new Map<string, number>();
  const previous = new Map<string, string | null>();
  for (const [u, edges] of graph) {
    distances.set(u, Infinity);
    previous.set(u, null);
    for (const { to, weight } of edges) {
      if (weight < 0) throw new Error('negative edge');
      if (!distances.has(to)) { distances.set(to, Infinity); previous.set(to, null); }
    }
  }
  distances.set(source, 0);
  const pq = new MinHeap<string>();
  pq.insert(source, 0);
  while (pq.length) {
    const { item: u, key } = pq.extractMin()!;
    if (key > distances.get(u)!) continue;
    for (const { to, weight } of graph.get(u) ?? []) {
      if (key + weight < distances.get(to)!) {
        distances.set(to, key + weight);
        previous.set(to, u);
        pq.insert(to, key + weight);
      }
    }
  }
  return { distances, previous };
}

export function shortestPath(graph: Graph, source: string, target: string): string[] {
  const { distances, previous } = dijkstra(graph, source);
  if (!distances.has(target) || distances.get(target) === Infinity) return [];
  const path = [target];
  while (path[0] !== source) path.unshift(previous.get(path[0])!);
  return path;
}
```

Usage:

```typescript
console.log(shortestPath(graph, 'A', 'D'));
```
"""

EXPRESS_ESM = """```js
import express from 'express';

const app = express();
const users = Array.from({ length: 30 }, (_, i) => ({
  id: i + 1,
  status: ['active', 'suspended'][i % 2],
  role: ['admin', 'member', 'guest'][i % 3],
}));

app.get('/users', (req, res) => {
  const page = Number(req.query.page ?? 1);
  const limit = Number(req.query.limit ?? 10);
  if (!Number.isInteger(page) || page < 1 || !Number.isInteger(limit) || limit < 1) {
    return res.status(400).json({ error: 'invalid pagination' });
  }
  if (limit > 100) return res.status(400).json({ error: 'limit too large' });
  const rows = users.filter((u) =>
    (!req.query.status || u.status === req.query.status) &&
    (!req.query.role || u.role === req.query.role));
  res.json({
    results: rows.slice((page - 1) * limit, page * limit),
    page, limit, totalCount: rows.length, totalPages: Math.ceil(rows.length / limit),
  });
});

export default app;
```
"""


@pytest.mark.parametrize("name", FLATTEN)
def test_flatten_corpus(name: str, settings: GradingSettings) -> None:
    answer, low, high = FLATTEN[name]
    result = grade("flatten", answer, settings)
    assert result.method is Method.EXECUTED
    assert low <= result.quality <= high, (result.quality, result.failed_checks)


@pytest.mark.parametrize("name", RACE)
def test_race_corpus(
    name: str, settings: GradingSettings, packages_ready: None
) -> None:
    answer, low, high = RACE[name]
    result = grade("race-condition", answer, settings)
    assert result.method is Method.EXECUTED
    assert low <= result.quality <= high, (result.quality, result.failed_checks)


def test_dijkstra_split_over_blocks_runs(
    settings: GradingSettings, packages_ready: None
) -> None:
    result = grade("dijkstra", DIJKSTRA_SPLIT, settings)
    assert result.method is Method.EXECUTED
    assert result.correctness == 10.0, result.failed_checks
    assert result.edge_cases == 10.0, result.failed_checks
    assert "comments" in result.failed_checks


def test_express_es_module_exporting_its_app(
    settings: GradingSettings, packages_ready: None
) -> None:
    result = grade("express-endpoint", EXPRESS_ESM, settings)
    assert result.method is Method.EXECUTED
    assert result.correctness == 10.0, result.failed_checks
    assert result.edge_cases >= 9.0, result.failed_checks


def test_review_that_only_lists_names_is_low(
    static_only: GradingSettings,
) -> None:
    answer = (
        "Problems: SQL injection (use prepared statements), a timing attack on "
        "the password check (use constant-time comparison), math/rand tokens "
        "(use crypto/rand) and missing input validation."
    )
    result = grade("code-review", answer, static_only)
    assert 1.5 <= result.quality <= 5.0


@pytest.mark.parametrize(
    "task", ["flatten", "race-condition", "dijkstra", "express-endpoint"]
)
def test_static_fallback_still_separates_good_from_prose(
    task: str, static_only: GradingSettings, bank: Callable[[str], list[dict[str, Any]]]
) -> None:
    answers = {str(a["label"]): str(a["text"]) for a in bank(task)}
    good = grade(
        task, next(v for k, v in answers.items() if k.startswith("good")), static_only
    )
    prose = grade(
        task, next(v for k, v in answers.items() if "prose" in k), static_only
    )
    assert good.method is Method.STATIC
    assert good.quality >= 6.0
    assert prose.quality <= 2.0
