"""`prober report`: the reports read from the database, one function each.

The command picks reports by flag (``--context``); each report is a function
of :class:`ReportOptions` registered in :data:`REPORTS`, so a new report is
one function and one flag.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import inspect

__all__ = ["REPORTS", "ReportOptions", "context_report", "parse_since", "run_reports"]

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class ReportOptions:
    database: str
    since: datetime
    models: tuple[str, ...] = ()
    plot_dir: Path | None = None


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``30m``, ``24h``, ``7d``, ``2w`` back from now, or an ISO date or time
    (UTC unless it says otherwise). Raises ``ValueError`` naming the value."""
    now = now or datetime.now(UTC)
    span = _SPAN.match(value.strip())
    if span:
        return now - timedelta(seconds=float(span.group(1)) * _UNITS[span.group(2)])
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a span like 7d, 24h, 30m nor an ISO date"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def context_report(options: ReportOptions, console: Console) -> None:
    """The context sweep table per model; PNG charts with ``plot_dir``."""
    from prober.context.plots import write_plots
    from prober.context.report import group_by_model, sweep_table
    from storage import load_sweep_cells, load_sweeps, make_engine

    engine = make_engine(options.database)
    models = list(options.models) or None
    if not inspect(engine).has_table("context_sweeps"):
        sweeps, cells = [], []
    else:
        sweeps = load_sweeps(engine, options.since, models)
        cells = load_sweep_cells(engine, options.since, models)
    engine.dispose()
    reports = group_by_model(sweeps, cells)
    if not reports:
        console.print(
            f"no context sweeps stored since {options.since:%Y-%m-%d %H:%M} UTC"
        )
        return
    for report in reports:
        console.print(sweep_table(report))
    if options.plot_dir is not None:
        for path in write_plots(reports, options.plot_dir):
            console.print(f"wrote {path}", highlight=False)


REPORTS: dict[str, Callable[[ReportOptions, Console], None]] = {
    "context": context_report,
}


def run_reports(names: list[str], options: ReportOptions, console: Console) -> None:
    for name in names:
        REPORTS[name](options, console)
