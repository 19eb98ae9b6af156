"""The spill file: result rows as JSON lines, kept while the database is away.

Lines are appended whole or not at all, and read back a batch at a time so a
large file never sits in memory whole.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["append_lines", "count_lines", "read_batches"]

log = logging.getLogger(__name__)


def append_lines(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Append whole lines or none: a write cut short (a full disk) is undone,
    so a half line never swallows the next row appended after it."""
    lines = "".join(json.dumps(row, default=_json_default) + "\n" for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(lines.encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def read_batches(path: Path, size: int) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                log.error("%s:%d: unreadable spilled row skipped", path, number)
                continue
            if isinstance(row.get("started_at"), str):
                row["started_at"] = datetime.fromisoformat(row["started_at"])
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for _ in handle)
    except FileNotFoundError:
        return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a spill file")
