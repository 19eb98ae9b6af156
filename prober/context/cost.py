"""What one context sweep is expected to cost, before it runs.

The sweep is the most expensive probe: on a 128K model it sends about three
quarters of a million prompt tokens. The estimate is the catalog price times
the expected tokens: each request's target prompt size, and at most
``max_tokens`` of answer (a reasoning model's reasoning comes on top).
Prompt tokens are priced only when the model sets ``input_price_per_mtok``;
the seed catalog gives output prices only, so by default a sweep's estimate
is its answers' cost, and the description says so.

:func:`estimate_sweep_cost` is what ``prober once --probe context`` shows
before it starts, and what budget code calls to count a sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

from prober.catalog import Catalog
from prober.context.sweep import PROBE, sweep_plan

__all__ = ["SweepCost", "estimate_sweep_cost"]


@dataclass(frozen=True, slots=True)
class SweepCost:
    """The expected size and price of one sweep of one model."""

    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    input_priced: bool

    def describe(self) -> str:
        size = (
            f"context sweep of {self.model}: {self.requests} requests, about "
            f"{self.input_tokens:,} prompt tokens and at most "
            f"{self.output_tokens:,} answer tokens"
        )
        if self.cost_usd is None:
            return f"{size}; no price in the catalog, cost unknown"
        if self.input_priced:
            return f"{size}; estimated ${self.cost_usd:.4f}"
        return (
            f"{size}; estimated ${self.cost_usd:.4f} for the answers only "
            "(prompt tokens are priced only when the model sets "
            "input_price_per_mtok)"
        )


def estimate_sweep_cost(catalog: Catalog, model_id: str) -> SweepCost:
    """The expected cost of one sweep of ``model_id`` at catalog prices."""
    model = catalog.models[model_id]
    rungs = sweep_plan(catalog, model_id)
    input_tokens = sum(rung.target_tokens for rung in rungs)
    output_tokens = len(rungs) * catalog.max_tokens(PROBE)
    return SweepCost(
        model=model_id,
        requests=len(rungs),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=model.cost_usd(input_tokens, output_tokens),
        input_priced=model.input_price_per_mtok > 0,
    )
