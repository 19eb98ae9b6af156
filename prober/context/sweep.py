"""Running one context sweep of one model.

A sweep climbs the ladder from the shortest length: at each (length, depth)
it makes and encodes a prompt in a worker thread (CPU work of tens of
milliseconds at 128K tokens, while the event loop times other requests),
sends it through the runner, within the provider's concurrency and pacing,
and scores the answer. Requests go
one at a time, so the model's time to first token is its prefill and not
the sweep's own queue. Each request becomes an ordinary result record with
``context_tokens``, ``needle_depth`` and ``needle_found`` set; when the
ladder is done the figures are derived (:mod:`prober.context.derive`).

``context_tokens`` is the prompt size from ``usage``; a provider that sends
no usage, or a request that failed, gets the calibrated estimate instead.
Like every probe, a sweep never raises for the target's failures: a failed
request is a record with its error, and the sweep goes on.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from prober.catalog import Catalog
from prober.client import ChatRequest, request_body
from prober.config import ContextProbeConfig
from prober.context.derive import Point, SweepFigures, derive
from prober.context.plan import Rung, TokenEstimate, plan_sweep
from prober.context.prompt import ContextPrompt, PromptTemplate, build_prompt
from prober.runner import ProbeRun, Runner

__all__ = [
    "PROBE",
    "ContextSweeper",
    "SweepResult",
    "context_settings",
    "sweep_plan",
]

log = logging.getLogger(__name__)

_GIVE_UP_AFTER_FAILURES = 3

PROBE = "context"


def context_settings(catalog: Catalog) -> ContextProbeConfig:
    """``[probes.context]``, or its defaults where the file sets none."""
    settings = catalog.probes.get(PROBE)
    if isinstance(settings, ContextProbeConfig):
        return settings
    base = settings.model_dump() if settings is not None else {}
    return ContextProbeConfig.model_validate(base)


def sweep_plan(catalog: Catalog, model_id: str) -> list[Rung]:
    """The requests one sweep of ``model_id`` sends, in order."""
    return plan_sweep(
        context_settings(catalog),
        catalog.models[model_id].context_window,
        catalog.max_tokens(PROBE),
    )


@dataclass(slots=True)
class SweepResult:
    """A finished sweep: its records, and what was derived from them."""

    uid: str
    model: str
    provider: str
    vantage: str
    seed: int
    started_at: datetime
    duration_s: float
    settings: ContextProbeConfig
    runs: list[ProbeRun]
    figures: SweepFigures

    def row(self) -> dict[str, Any]:
        """The ``context_sweeps`` row."""
        fit = self.figures.fit
        records = [run.record for run in self.runs]
        return {
            "uid": self.uid,
            "started_at": self.started_at,
            "model": self.model,
            "provider": self.provider,
            "vantage": self.vantage,
            "seed": self.seed,
            "duration_s": self.duration_s,
            "ladder": ",".join(str(n) for n in self.settings.ladder),
            "depths": ",".join(f"{d:g}" for d in self.settings.depths),
            "keep_ratio": self.settings.keep_ratio,
            "requests": len(records),
            "errors": sum(1 for r in records if not r["ok"]),
            "input_tokens": _total(records, "input_tokens"),
            "output_tokens": _total(records, "output_tokens"),
            "cost_usd": _total(records, "cost_usd"),
            "baseline_accuracy": self.figures.baseline_accuracy,
            "effective_context_tokens": self.figures.effective_length,
            "effective_at_top": self.figures.effective_at_top,
            "prefill_intercept_s": fit.intercept_s if fit else None,
            "prefill_slope_s_per_token": fit.slope_s_per_token if fit else None,
            "prefill_tokens_per_s": fit.tokens_per_s if fit else None,
            "prefill_r2": fit.r2 if fit else None,
            "prefill_points": fit.points if fit else None,
        }

    def cell_rows(self) -> list[dict[str, Any]]:
        """The ``context_sweep_cells`` rows."""
        return [
            {
                "uid": f"{self.uid}-{cell.length}-{round(cell.depth * 1000)}",
                "sweep_uid": self.uid,
                "started_at": self.started_at,
                "model": self.model,
                "provider": self.provider,
                "vantage": self.vantage,
                "length_tokens": cell.length,
                "length_label": cell.label,
                "needle_depth": cell.depth,
                "requests": cell.requests,
                "answered": cell.answered,
                "found": cell.found,
                "accuracy": cell.accuracy,
                "context_tokens": cell.context_tokens,
                "ttft_s": cell.ttft_s,
            }
            for cell in self.figures.cells
        ]


class ContextSweeper:
    """Runs sweeps through a :class:`Runner`; keeps, per model, the token
    estimate its answers calibrated, so later sweeps start calibrated."""

    def __init__(self, runner: Runner, vantage: str = "local") -> None:
        self._runner = runner
        self._vantage = vantage
        self._template = PromptTemplate.load()
        self._estimates: dict[str, TokenEstimate] = {}

    async def sweep(
        self,
        model_id: str,
        on_result: Callable[[ProbeRun], None] | None = None,
        deadline_s: float | None = None,
    ) -> SweepResult:
        """Sweep ``model_id`` up the ladder; ``on_result`` sees each record
        as soon as its request is done; ``deadline_s`` bounds each request."""
        catalog = self._runner.catalog
        settings = context_settings(catalog)
        rungs = sweep_plan(catalog, model_id)
        seed = settings.seed if settings.seed is not None else secrets.randbits(31)
        started_at, began = datetime.now(UTC), time.monotonic()
        log.info(
            "context sweep of %s: %d requests up to %d tokens, seed %d",
            model_id,
            len(rungs),
            rungs[-1].length if rungs else 0,
            seed,
        )

        runs, points = [], []
        failed_in_a_row = 0
        for index, rung in enumerate(rungs):
            run, point = await self._step(model_id, rung, f"{seed}:{index}", deadline_s)
            runs.append(run)
            points.append(point)
            if on_result is not None:
                on_result(run)
            failed_in_a_row = 0 if run.ok else failed_in_a_row + 1
            if failed_in_a_row >= _GIVE_UP_AFTER_FAILURES:
                # A burst of errors or an outage: the rest would fail too and
                # cost the most (the longest prompts come last).
                log.warning(
                    "context sweep of %s stopped after %d failures in a row "
                    "(%s); %d of %d requests sent",
                    model_id,
                    failed_in_a_row,
                    run.record["error_type"],
                    index + 1,
                    len(rungs),
                )
                break

        figures = await asyncio.to_thread(derive, points, settings.keep_ratio)
        result = SweepResult(
            uid=uuid.uuid4().hex,
            model=model_id,
            provider=catalog.models[model_id].provider,
            vantage=self._vantage,
            seed=seed,
            started_at=started_at,
            duration_s=time.monotonic() - began,
            settings=settings,
            runs=runs,
            figures=figures,
        )
        _log_result(result)
        return result

    async def _step(
        self, model_id: str, rung: Rung, seed: str, deadline_s: float | None
    ) -> tuple[ProbeRun, Point]:
        catalog = self._runner.catalog
        estimate = self._estimates.setdefault(model_id, TokenEstimate())
        request = ChatRequest(
            model=model_id,
            prompt="",
            max_tokens=catalog.max_tokens(PROBE),
            temperature=catalog.tasks[PROBE].temperature,
        )
        prompt, request = await asyncio.to_thread(
            self._prepare, request, seed, rung, estimate
        )

        run = await self._runner.send(model_id, PROBE, request, deadline_s)

        tokens = _prompt_tokens(run, prompt, estimate)
        found = prompt.needle.found_in(run.measurement.answer) if run.ok else None
        run.record.update(
            context_tokens=tokens, needle_depth=rung.depth, needle_found=found
        )
        log.debug(
            "context %s %s depth %.2f: %d tokens, ttft %s, found %s",
            model_id,
            rung.label,
            rung.depth,
            tokens,
            run.record["ttft_s"],
            found,
        )
        point = Point(
            rung.length, rung.label, rung.depth, tokens, run.record["ttft_s"],
            run.ok, found,
        )  # fmt: skip
        return run, point

    def _prepare(
        self, request: ChatRequest, seed: str, rung: Rung, estimate: TokenEstimate
    ) -> tuple[ContextPrompt, ChatRequest]:
        """The prompt and the encoded request: CPU work for a worker thread."""
        prompt = build_prompt(
            self._template, seed, rung.target_tokens, rung.depth, estimate
        )
        request = replace(request, prompt=prompt.text)
        return prompt, replace(request, body=request_body(request))


def _prompt_tokens(
    run: ProbeRun, prompt: ContextPrompt, estimate: TokenEstimate
) -> int:
    """The prompt's size from usage, teaching the estimate; else the estimate."""
    m = run.measurement
    if m.tokens_source == "usage" and m.input_tokens:
        estimate.learn(prompt.padding_chars, prompt.fixed_chars, m.input_tokens)
        return m.input_tokens
    return estimate.tokens_for(prompt.padding_chars, prompt.fixed_chars)


def _total(records: list[dict[str, Any]], name: str) -> Any:
    values = [r[name] for r in records if r[name] is not None]
    return sum(values) if values else None


def _log_result(result: SweepResult) -> None:
    figures = result.figures
    rate = figures.fit.tokens_per_s if figures.fit else None
    log.info(
        "context sweep of %s done in %.0f s: effective context %s%s, "
        "prefill %s tokens/s, %d of %d requests failed",
        result.model,
        result.duration_s,
        figures.effective_label or "none",
        _bound(figures),
        f"{rate:.0f}" if rate else "unknown",
        sum(1 for run in result.runs if not run.ok),
        len(result.runs),
    )


def _bound(figures: SweepFigures) -> str:
    if figures.effective_at_top:
        return " (the ladder's top)"
    if figures.effective_cut_by_errors:
        return " at least (the next length got no answer)"
    return ""
