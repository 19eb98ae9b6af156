"""`prober report`: the reports read from the database, one function each.

The command picks a report by flag (none: the ranking; ``--context``); each
report is a function of :class:`ReportOptions` registered in
:data:`REPORTS`, so a new report is one function and one flag.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from sqlalchemy import Engine, inspect

from prober.catalog import Catalog
from prober.tabular import Section, render_json, render_text, rich_table
from storage.engine import describe_database

__all__ = [
    "REPORTS",
    "ReportOptions",
    "context_report",
    "load_report",
    "parse_since",
    "ranking_report",
    "run_reports",
]

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class ReportOptions:
    database: str
    since: datetime
    catalog: Catalog
    models: tuple[str, ...] = ()
    plot_dir: Path | None = None
    fmt: str = "table"
    window: str = ""
    """The window as the user gave it, for titles and JSON."""
    run_ids: tuple[str, ...] = ()
    last: int = 5


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
    from storage import load_sweep_cells, load_sweeps

    engine = _open(options.database)
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


def ranking_report(options: ReportOptions, console: Console) -> None:
    """The ranking, quality by task and spend by day, in any format."""
    from prober.report import ranking_sections

    engine = _open(options.database)
    try:
        _require_results(engine, options.database)
        catalog = options.catalog
        if options.models:
            models = {m: catalog.models[m] for m in options.models}
            catalog = replace(catalog, models=models)
        sections = ranking_sections(engine, catalog, options.since)
    finally:
        engine.dispose()
    _print_sections(sections, options, console)


def _open(database: str) -> Engine:
    from storage import open_engine

    try:
        return open_engine(database)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _require_results(engine: Engine, database: str) -> None:
    if not inspect(engine).has_table("probe_results"):
        raise click.ClickException(
            f"{describe_database(database)} holds no results yet; run `prober run` "
            "or `prober once` first"
        )


def _print_sections(
    sections: list[Section], options: ReportOptions, console: Console
) -> None:
    if options.fmt == "json":
        click.echo(render_json(sections, window=options.window))
    elif options.fmt == "csv":
        # One table a CSV reader can load: the ranking; JSON carries all.
        click.echo(render_text(sections[:1], "csv"), nl=False)
    elif options.fmt == "markdown":
        click.echo(render_text(sections, "markdown"), nl=False)
    else:
        for section in sections:
            console.print(rich_table(section))


def load_report(options: ReportOptions, console: Console) -> None:
    """Capacity-test runs: slowdown at peak, errors at peak, the knee."""
    from prober.load_report import load_reports, render

    engine = _open(options.database)
    try:
        if not inspect(engine).has_table("load_runs"):
            reports = []
        else:
            reports = load_reports(engine, options.run_ids, options.last)
    finally:
        engine.dispose()
    if options.run_ids and not reports:
        wanted = ", ".join(options.run_ids)
        raise click.ClickException(f"no load-test run matches --run {wanted}")
    if options.fmt == "json":
        for item in reports:
            click.echo(json.dumps(item.to_dict()))
        return
    console.print(render(reports))


REPORTS: dict[str, Callable[[ReportOptions, Console], None]] = {
    "ranking": ranking_report,
    "context": context_report,
    "load": load_report,
}


def run_reports(names: list[str], options: ReportOptions, console: Console) -> None:
    for name in names:
        REPORTS[name](options, console)
