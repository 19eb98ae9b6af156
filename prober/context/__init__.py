"""The context sweep: where each model stops reading, and what long prompts
cost in time to first token.

A sweep pads a prompt with generated source code to each length of a ladder
(1K to 128K tokens by default, capped by the model's context window), hides
one fact in a function at set depths, asks for it back, and derives the
prefill rate and the effective context from the answers. See the README's
"Context sweep" section for the prompt format, the figures and their limits.
"""

from prober.context.cost import SweepCost, estimate_sweep_cost
from prober.context.derive import SweepFigures
from prober.context.metrics import ContextMetrics
from prober.context.plan import Rung, length_label
from prober.context.sweep import (
    PROBE,
    ContextSweeper,
    SweepResult,
    context_settings,
    sweep_plan,
)

__all__ = [
    "PROBE",
    "ContextMetrics",
    "ContextSweeper",
    "Rung",
    "SweepCost",
    "SweepFigures",
    "SweepResult",
    "context_settings",
    "estimate_sweep_cost",
    "length_label",
    "sweep_plan",
]
