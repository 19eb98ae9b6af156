"""`prober once`: one pass over a selection of models and probes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prober.catalog import Catalog
from prober.client import StreamingClient
from prober.context import PROBE as CONTEXT_PROBE
from prober.context import ContextSweeper, SweepResult
from prober.embedded import attach_simulator
from prober.grader import GradingPool
from prober.runner import ProbeRun, Runner

__all__ = ["run_once"]


async def run_once(
    catalog: Catalog,
    selection: list[tuple[str, str]],
    vantage: str = "local",
    on_result: Callable[[ProbeRun], None] | None = None,
    grading: GradingPool | None = None,
    on_sweep: Callable[[SweepResult], None] | None = None,
) -> list[ProbeRun]:
    """Run every (model, probe) in ``selection`` once, concurrently within
    each provider's limits; results come back in selection order. The
    ``context`` probe is a sweep: many records, and ``on_sweep`` gets what
    was derived from them."""
    catalog, simulator = await attach_simulator(catalog)
    try:
        catalog.require_keys()
        async with StreamingClient() as client:
            runner = Runner(catalog, client, vantage, grading)
            sweeper = ContextSweeper(runner, vantage)

            async def one(model: str, probe: str) -> list[ProbeRun]:
                if probe == CONTEXT_PROBE:
                    return await _sweep(sweeper, model, on_result, on_sweep)
                run = await runner.run(model, probe)
                if on_result is not None:
                    on_result(run)
                return [run]

            done = await asyncio.gather(*(one(m, p) for m, p in selection))
            return [run for runs in done for run in runs]
    finally:
        if simulator is not None:
            await simulator.stop()


async def _sweep(
    sweeper: ContextSweeper,
    model: str,
    on_result: Callable[[ProbeRun], None] | None,
    on_sweep: Callable[[SweepResult], None] | None,
) -> list[ProbeRun]:
    sweep = await sweeper.sweep(model, on_result)
    if on_sweep is not None:
        on_sweep(sweep)
    return sweep.runs
