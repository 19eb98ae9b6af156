"""Padding for the context sweep: realistic Python source, made up on demand.

A long prompt has to read like what people paste into a coding model: files
of functions, classes and constants with plausible names, docstrings, loops
and error handling, including functions that return string constants (so the
hidden fact does not stand out by its shape alone). Every piece is drawn from
a seeded :class:`random.Random`, so a seed gives the same text every time,
and a new seed per sweep gives text no provider cache has seen.

Making 128K tokens (about 450 KB) takes a few tens of milliseconds of CPU:
callers run :func:`make_padding` in a worker thread, never on the event loop
that times requests.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["make_padding"]

_NOUNS = (
    "account", "invoice", "order", "ledger", "payment", "customer", "session",
    "token", "report", "export", "schedule", "shipment", "catalog", "price",
    "discount", "tenant", "project", "build", "artifact", "release", "metric",
    "sample", "window", "bucket", "quota", "region", "cluster", "node", "queue",
    "message", "event", "webhook", "retry", "policy", "rule", "audit", "record",
    "profile", "address", "country", "currency", "balance", "transfer", "refund",
    "coupon", "cart", "item", "stock", "warehouse", "route", "driver", "vehicle",
    "ticket", "comment", "author", "draft", "snapshot", "backup", "volume",
)  # fmt: skip
_VERBS = (
    "load", "parse", "build", "collect", "merge", "resolve", "validate",
    "normalise", "render", "compute", "filter", "group", "apply", "sync",
    "refresh", "archive", "export", "import", "publish", "schedule", "cancel",
    "retry", "split", "score", "rank", "estimate", "reconcile", "prune",
)  # fmt: skip
_ADJECTIVES = (
    "pending", "active", "stale", "default", "primary", "remote", "local",
    "cached", "expired", "failed", "partial", "weekly", "monthly", "regional",
    "internal", "public", "draft", "signed", "unpaid", "overdue", "shared",
)  # fmt: skip
_PACKAGES = (
    "billing", "accounts", "orders", "shipping", "reports", "auth", "catalog",
    "inventory", "notifications", "scheduler", "storage", "analytics", "api",
)  # fmt: skip
_IMPORTS = (
    "import logging", "import json", "import time", "import re",
    "from dataclasses import dataclass, field", "from datetime import datetime",
    "from collections import defaultdict", "from decimal import Decimal",
    "from typing import Any, Iterable", "from pathlib import Path",
)  # fmt: skip
_TYPES = ("int", "str", "float", "bool", "Decimal", "datetime", "list[str]")


class _Writer:
    """Draws names and blocks of code from one seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._blocks: tuple[Callable[[], str], ...] = (
            self._loop_function,
            self._guard_function,
            self._dataclass,
            self._service_class,
            self._lookup_function,
            self._constant_function,
            self._loop_function,
            self._guard_function,
        )

    def noun(self) -> str:
        return self.rng.choice(_NOUNS)

    def name(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return f"{rng.choice(_VERBS)}_{_plural(self.noun())}"
        return f"{rng.choice(_VERBS)}_{rng.choice(_ADJECTIVES)}_{_plural(self.noun())}"

    def file_header(self) -> str:
        rng = self.rng
        path = f"src/{rng.choice(_PACKAGES)}/{self.noun()}_{rng.choice(_VERBS)}.py"
        imports = sorted({"import logging", *rng.sample(_IMPORTS, rng.randint(2, 5))})
        doc = f'"""Helpers that {rng.choice(_VERBS)} {_plural(self.noun())}."""'
        logger = "log = logging.getLogger(__name__)"
        return "\n".join((f"### file: {path}", doc, "", *imports, "", logger))

    def block(self) -> str:
        return self.rng.choice(self._blocks)()

    def filler_line(self) -> str:
        rng = self.rng
        noun = self.noun().upper()
        return f"{rng.choice(_ADJECTIVES).upper()}_{noun}_LIMIT = {rng.randint(2, 500)}"

    def _loop_function(self) -> str:
        rng, noun = self.rng, self.noun()
        many = _plural(noun)
        field_name = self.noun()
        threshold = rng.randint(1, 100)
        return (
            f"def {self.name()}({many}: Iterable[dict[str, Any]]) -> "
            f"dict[str, int]:\n"
            f'    """Count {many} by {field_name}, skipping those under '
            f'{threshold}."""\n'
            f"    counts: dict[str, int] = defaultdict(int)\n"
            f"    for {noun} in {many}:\n"
            f'        if {noun}.get("amount", 0) < {threshold}:\n'
            f"            continue\n"
            f'        counts[str({noun}.get("{field_name}"))] += 1\n'
            f'    log.debug("counted %d {many}", sum(counts.values()))\n'
            f"    return dict(counts)\n"
        )

    def _guard_function(self) -> str:
        rng, noun = self.rng, self.noun()
        kind = rng.choice(_TYPES)
        limit = rng.randint(10, 10_000)
        return (
            f"def {self.name()}({noun}_id: int, limit: int = {limit}) -> {kind}:\n"
            f'    """Return the {rng.choice(_ADJECTIVES)} {noun} for '
            f'``{noun}_id``."""\n'
            f"    if {noun}_id <= 0:\n"
            f'        raise ValueError(f"bad {noun} id: {{{noun}_id}}")\n'
            f"    if limit > {limit * 2}:\n"
            f"        limit = {limit * 2}\n"
            f"    started = time.monotonic()\n"
            f"    result = _{rng.choice(_VERBS)}_{noun}({noun}_id, limit=limit)\n"
            f'    log.info("{noun} %d took %.3f s", {noun}_id, '
            f"time.monotonic() - started)\n"
            f"    return result\n"
        )

    def _dataclass(self) -> str:
        rng, noun = self.rng, self.noun()
        fields = rng.sample(_NOUNS, rng.randint(2, 5))
        lines = [f"    {name}: {rng.choice(_TYPES)}" for name in fields]
        return (
            "@dataclass(frozen=True)\n"
            f"class {noun.capitalize()}{rng.choice(_NOUNS).capitalize()}:\n"
            f'    """One {noun} as the {rng.choice(_PACKAGES)} service stores '
            f'it."""\n\n' + "\n".join(lines) + "\n\n"
            "    def is_empty(self) -> bool:\n"
            f"        return not self.{fields[0]}\n"
        )

    def _service_class(self) -> str:
        rng, noun = self.rng, self.noun()
        other = self.noun()
        return (
            f"class {noun.capitalize()}Service:\n"
            f'    """Reads and writes {_plural(noun)} through the repository."""\n\n'
            "    def __init__(self, repository: Any, timeout_s: float = "
            f"{rng.randint(1, 30)}.0) -> None:\n"
            "        self._repository = repository\n"
            "        self._timeout_s = timeout_s\n\n"
            f"    def {rng.choice(_VERBS)}(self, {noun}_id: int) -> dict[str, Any]:\n"
            f"        row = self._repository.get({noun}_id, "
            f"timeout=self._timeout_s)\n"
            "        if row is None:\n"
            f"            raise KeyError({noun}_id)\n"
            f'        return {{"id": row.id, "{other}": row.{other}}}\n\n'
            f"    def {rng.choice(_VERBS)}_all(self) -> list[int]:\n"
            f"        return sorted(r.id for r in self._repository.scan())\n"
        )

    def _lookup_function(self) -> str:
        rng, noun = self.rng, self.noun()
        keys = rng.sample(_ADJECTIVES, 3)
        pairs = ", ".join(f'"{key}": {rng.randint(1, 90)}' for key in keys)
        return (
            f"def {self.name()}(status: str) -> int:\n"
            f'    """Map a {noun} status to its priority."""\n'
            f"    table = {{{pairs}}}\n"
            "    try:\n"
            "        return table[status]\n"
            "    except KeyError:\n"
            f'        log.warning("unknown {noun} status %r", status)\n'
            "        return 0\n"
        )

    def _constant_function(self) -> str:
        rng, noun = self.rng, self.noun()
        value = f"{rng.choice(_ADJECTIVES)}-{self.noun()}-{rng.randint(1, 99)}"
        return (
            f"def default_{noun}_{rng.choice(_NOUNS)}() -> str:\n"
            f'    """Return the name of the default {noun} '
            f'{rng.choice(_NOUNS)}."""\n'
            f'    return "{value}"\n'
        )


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def make_padding(rng: random.Random, chars: int) -> list[str]:
    """Pieces of source code (file headers, blocks, then one-line constants
    to top up) whose lengths plus a blank line each add up to about
    ``chars``, never more. The needle goes between two pieces."""
    writer = _Writer(rng)
    pieces: list[str] = []
    total = 0
    blocks_left = 0
    while True:
        if blocks_left == 0:
            piece = writer.file_header()
            blocks_left = rng.randint(4, 14)
        else:
            piece = writer.block()
            blocks_left -= 1
        if total + len(piece) + 2 > chars:
            break
        pieces.append(piece)
        total += len(piece) + 2
    while True:
        line = writer.filler_line()
        if total + len(line) + 2 > chars:
            return pieces
        pieces.append(line)
        total += len(line) + 2
