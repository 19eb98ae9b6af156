"""`prober report --context`: the stored sweeps as a table per model.

Rows are ladder lengths. Accuracy, per depth and over all depths, pools the
answers of every sweep in the window (errors excluded, and counted in the
caption); prompt tokens and TTFT are medians over the sweeps' cells. The
title gives the latest sweep's effective context and prefill rate, and the
caption their range over the window, so a change shows at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.table import Table

from prober.context.plan import length_label

__all__ = ["ModelSweeps", "effective_text", "group_by_model", "sweep_table"]


@dataclass(slots=True)
class ModelSweeps:
    """One model's stored sweeps and cells in the window, oldest first."""

    model: str
    sweeps: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)

    @property
    def latest(self) -> dict[str, Any]:
        return self.sweeps[-1]

    def depths(self) -> list[float]:
        return sorted({cell["needle_depth"] for cell in self.cells})

    def lengths(self) -> list[tuple[int, str]]:
        return sorted({(c["length_tokens"], c["length_label"]) for c in self.cells})

    def accuracy(self, length: int, depth: float | None = None) -> float | None:
        """Pooled accuracy at ``length`` (and ``depth``, if given)."""
        cells = self._at(length, depth)
        answered = sum(cell["answered"] for cell in cells)
        if not answered:
            return None
        return sum(cell["found"] for cell in cells) / answered

    def median(self, length: int, name: str) -> float | None:
        values = [c[name] for c in self._at(length, None) if c[name] is not None]
        return float(np.median(values)) if values else None

    def _at(self, length: int, depth: float | None) -> list[dict[str, Any]]:
        return [
            cell
            for cell in self.cells
            if cell["length_tokens"] == length
            and (depth is None or cell["needle_depth"] == depth)
        ]


def group_by_model(
    sweeps: list[dict[str, Any]], cells: list[dict[str, Any]]
) -> list[ModelSweeps]:
    """Sweeps and cells per model, models in order of their first sweep."""
    by_model: dict[str, ModelSweeps] = {}
    for sweep in sweeps:
        by_model.setdefault(sweep["model"], ModelSweeps(sweep["model"]))
        by_model[sweep["model"]].sweeps.append(sweep)
    known = {sweep["uid"] for sweep in sweeps}
    for cell in cells:
        if cell["sweep_uid"] in known:
            by_model[cell["model"]].cells.append(cell)
    return list(by_model.values())


def effective_text(sweep: dict[str, Any]) -> str:
    """``32k``; ``>=128k`` when retrieval held to the ladder's top; ``none``."""
    tokens = sweep["effective_context_tokens"]
    if tokens is None:
        return "none"
    label = length_label(tokens)
    return f">={label}" if sweep["effective_at_top"] else label


def sweep_table(report: ModelSweeps) -> Table:
    """The table for one model."""
    latest = report.latest
    table = Table(title=_title(report.model, latest), title_justify="left")
    depths = report.depths()
    table.add_column("length")
    table.add_column("prompt tokens", justify="right")
    table.add_column("accuracy", justify="right")
    for depth in depths:
        table.add_column(f"at {depth:.0%}", justify="right")
    table.add_column("TTFT s", justify="right")
    for length, label in report.lengths():
        tokens = report.median(length, "context_tokens")
        table.add_row(
            label,
            "-" if tokens is None else f"{tokens:,.0f}",
            _ratio(report.accuracy(length)),
            *(_ratio(report.accuracy(length, depth)) for depth in depths),
            _seconds(report.median(length, "ttft_s")),
        )
    table.caption = _caption(report)
    table.caption_justify = "left"
    return table


def _title(model: str, latest: dict[str, Any]) -> str:
    rate = latest["prefill_tokens_per_s"]
    prefill = "unknown" if rate is None else f"{rate:,.0f} tokens/s"
    return f"{model}: effective context {effective_text(latest)}, prefill {prefill}"


def _caption(report: ModelSweeps) -> str:
    sweeps = report.sweeps
    latest = report.latest
    errors = sum(sweep["errors"] for sweep in sweeps)
    requests = sum(sweep["requests"] for sweep in sweeps)
    lines = [
        f"{len(sweeps)} sweep(s), latest {latest['started_at']:%Y-%m-%d %H:%M} UTC; "
        f"{errors} of {requests} requests failed (left out of accuracy)"
    ]
    if len(sweeps) > 1:
        effective = sorted({effective_text(sweep) for sweep in sweeps})
        rates = [s["prefill_tokens_per_s"] for s in sweeps if s["prefill_tokens_per_s"]]
        spread = f"{min(rates):,.0f}-{max(rates):,.0f}" if rates else "unknown"
        lines.append(
            f"over the window: effective context {', '.join(effective)}; "
            f"prefill {spread} tokens/s"
        )
    intercept = latest["prefill_intercept_s"]
    if intercept is not None:
        r2 = latest["prefill_r2"]
        fit = f"TTFT at zero tokens {intercept:.2f} s"
        lines.append(fit + ("" if r2 is None else f", fit r2 {r2:.3f}"))
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
