"""Hand-made load-test samples for the tests."""

from __future__ import annotations

from loadtests.samples import Sample


def ok(
    at: float, ttft_s: float, model: str = "glm-5", e2e_s: float | None = None
) -> Sample:
    return Sample(
        started_at=at,
        model=model,
        probe="flatten",
        ok=True,
        error_type=None,
        ttft_s=ttft_s,
        ttfa_s=ttft_s,
        e2e_s=e2e_s if e2e_s is not None else ttft_s + 1.0,
        itl_s=0.01,
        output_tokens_per_s=100.0,
        input_tokens=40,
        output_tokens=101,
    )


def failed(at: float, error_type: str, model: str = "glm-5") -> Sample:
    return Sample(
        started_at=at,
        model=model,
        probe="flatten",
        ok=False,
        error_type=error_type,
        ttft_s=None,
        ttfa_s=None,
        e2e_s=0.05,
        itl_s=None,
        output_tokens_per_s=None,
        input_tokens=None,
        output_tokens=None,
    )
