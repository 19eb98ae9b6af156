"""One measured load-test request, small enough to ship from worker to master.

A :class:`Sample` keeps the figures the stage statistics and the Prometheus
metrics need, taken from prober's :class:`~prober.measurement.Measurement`,
so load tests and probes share one definition of TTFT, TTFA, end-to-end and
output speed. Workers send samples to the master as plain lists
(:meth:`Sample.to_wire`), inside Locust's own periodic worker report.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Any

from prober.measurement import Measurement

__all__ = ["Sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    started_at: float
    """Unix time the request started; places the sample in its stage."""
    model: str
    probe: str
    ok: bool
    error_type: str | None
    ttft_s: float | None
    ttfa_s: float | None
    e2e_s: float | None
    itl_s: float | None
    output_tokens_per_s: float | None
    input_tokens: int | None
    output_tokens: int | None

    @classmethod
    def of(
        cls, started_at: float, model: str, probe: str, measurement: Measurement
    ) -> Sample:
        m = measurement
        return cls(
            started_at=started_at,
            model=model,
            probe=probe,
            ok=m.ok,
            error_type=None if m.error_type is None else str(m.error_type),
            ttft_s=m.ttft_s,
            ttfa_s=m.ttfa_s,
            e2e_s=m.e2e_s,
            itl_s=m.itl_s,
            output_tokens_per_s=m.output_tokens_per_s,
            input_tokens=m.input_tokens,
            output_tokens=m.output_tokens,
        )

    def to_wire(self) -> list[Any]:
        return list(astuple(self))

    @classmethod
    def from_wire(cls, row: list[Any]) -> Sample:
        return cls(*row)
