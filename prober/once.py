"""`prober once`: one pass over a selection of models and probes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prober.catalog import Catalog
from prober.client import StreamingClient
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
) -> list[ProbeRun]:
    """Run every (model, probe) in ``selection`` once, concurrently within
    each provider's limits; results come back in selection order."""
    catalog, simulator = await attach_simulator(catalog)
    try:
        catalog.require_keys()
        async with StreamingClient() as client:
            runner = Runner(catalog, client, vantage, grading)

            async def one(model: str, probe: str) -> ProbeRun:
                run = await runner.run(model, probe)
                if on_result is not None:
                    on_result(run)
                return run

            return list(await asyncio.gather(*(one(m, p) for m, p in selection)))
    finally:
        if simulator is not None:
            await simulator.stop()
