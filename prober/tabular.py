"""Tables for people and for programs: one description of the columns,
rendered as a terminal table, Markdown, CSV or JSON.

Reports build rows of plain values (``None`` for unknown); formatting to text
happens only here, so JSON and CSV keep full precision.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table

__all__ = ["FORMATS", "Column", "Section", "render_text", "render_json", "rich_table"]

FORMATS = ("table", "markdown", "csv", "json")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    show: Callable[[Any], str] = str
    numeric: bool = True

    def text(self, value: Any) -> str:
        return "-" if value is None else self.show(value)


@dataclass(frozen=True, slots=True)
class Section:
    """One titled table of a report."""

    name: str
    title: str
    columns: Sequence[Column]
    rows: Sequence[dict[str, Any]]


def rich_table(section: Section) -> Table:
    table = Table(title=section.title)
    for column in section.columns:
        table.add_column(column.title, justify="right" if column.numeric else "left")
    for row in section.rows:
        table.add_row(*(column.text(row.get(column.key)) for column in section.columns))
    return table


def render_text(sections: Sequence[Section], fmt: str) -> str:
    """Markdown or CSV of every section, in order."""
    if fmt == "markdown":
        return "\n".join(_markdown(section) for section in sections)
    if fmt == "csv":
        return "\n".join(_csv(section) for section in sections)
    raise ValueError(f"not a text format: {fmt}")


def render_json(sections: Sequence[Section], **extra: Any) -> str:
    """Every section's raw rows under its name, plus ``extra`` keys."""
    payload: dict[str, Any] = dict(extra)
    for section in sections:
        payload[section.name] = [dict(row) for row in section.rows]
    return json.dumps(payload, indent=2, default=str)


def _markdown(section: Section) -> str:
    lines = [f"## {section.title}", ""]
    lines.append("| " + " | ".join(c.title for c in section.columns) + " |")
    lines.append(
        "|" + "|".join("---:" if c.numeric else "---" for c in section.columns) + "|"
    )
    for row in section.rows:
        cells = (c.text(row.get(c.key)).replace("|", "\\|") for c in section.columns)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _csv(section: Section) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in section.columns])
    for row in section.rows:
        writer.writerow(
            ["" if row.get(c.key) is None else row[c.key] for c in section.columns]
        )
    return out.getvalue()
