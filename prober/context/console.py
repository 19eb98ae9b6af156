"""What `prober once --probe context` shows and stores around its sweeps:
the expected cost before they start, the summary table after, and the
derived figures written beside the records."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from prober.catalog import Catalog
from prober.context.cost import estimate_sweep_cost
from prober.context.report import group_by_model, sweep_table
from prober.context.sweep import PROBE, SweepResult, sweep_plan

__all__ = ["print_sweeps", "request_count", "show_sweep_costs", "store_sweeps"]


def show_sweep_costs(
    catalog: Catalog, selection: list[tuple[str, str]], console: Console
) -> None:
    """Each selected sweep's expected cost, before it starts."""
    for model, probe in selection:
        if probe == PROBE:
            cost = estimate_sweep_cost(catalog, model)
            console.print(cost.describe(), highlight=False, soft_wrap=True)


def request_count(catalog: Catalog, selection: list[tuple[str, str]]) -> int:
    """Requests the selection sends: a sweep's ladder, one for other probes."""
    return sum(
        len(sweep_plan(catalog, model)) if probe == PROBE else 1
        for model, probe in selection
    )


def store_sweeps(sweeps: list[SweepResult], database: str, spill: Path) -> None:
    """Write the sweeps' derived rows (the records go through the result
    writer); blocks until written or spilled."""
    if not sweeps:
        return
    from storage import SweepWriter, create_schema, make_engine

    engine = make_engine(database)
    create_schema(engine)
    writer = SweepWriter(engine, spill)
    writer.start()
    for sweep in sweeps:
        writer.submit(sweep.row(), sweep.cell_rows())
    writer.close()


def print_sweeps(console: Console, sweeps: list[SweepResult]) -> None:
    rows = [sweep.row() for sweep in sweeps]
    cells = [cell for sweep in sweeps for cell in sweep.cell_rows()]
    for report in group_by_model(rows, cells):
        console.print(sweep_table(report))
