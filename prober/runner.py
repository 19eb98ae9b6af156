"""Running one probe against one model and turning it into a result record.

A probe is a function with one contract: it takes a target and a probe
configuration and returns a record; it never raises for the target's
failures. The runner owns per-provider concurrency and request pacing so that
probing never causes its own 429s, and the hard deadline of one probe: a
probe still going at its deadline (waiting for a slot included) is cut and
recorded as a ``total_timeout``, so a hung request still leaves its row.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prober.catalog import Catalog, Provider
from prober.client import ChatRequest, StreamingClient
from prober.grader import GradingPool
from prober.grading import Grade
from prober.measurement import Measurement
from prober.outcome import ErrorType
from prober.redact import redact

__all__ = ["ProbeRun", "Runner"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ProbeRun:
    """A finished probe: the record to store, plus what is not stored in it."""

    record: dict[str, Any]
    measurement: Measurement
    answer: str = ""
    """The generated text, secrets removed."""
    cut: bool = False
    """True when the probe was cut at its deadline."""
    grade: Grade | None = None

    @property
    def ok(self) -> bool:
        return bool(self.record["ok"])


def _cut(deadline_s: float | None, sent: bool) -> Measurement:
    where = "" if sent else " while waiting for a provider slot"
    return Measurement(
        ok=False,
        error_type=ErrorType.TOTAL_TIMEOUT,
        error_message=f"cut at the probe deadline of {deadline_s:g} s{where}",
    )


class _Pacer:
    """Spaces requests to one provider to at most ``per_minute``."""

    def __init__(self, per_minute: float | None) -> None:
        self._gap_s = 60.0 / per_minute if per_minute else 0.0
        self._next_s = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self._gap_s:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next_s - now
            self._next_s = max(now, self._next_s) + self._gap_s
        if delay > 0:
            await asyncio.sleep(delay)


class Runner:
    """Runs probes through one shared :class:`StreamingClient`."""

    def __init__(
        self,
        catalog: Catalog,
        client: StreamingClient,
        vantage: str = "local",
        grading: GradingPool | None = None,
    ) -> None:
        self._catalog = catalog
        self._client = client
        self._vantage = vantage
        self._grading = grading
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._pacers: dict[str, _Pacer] = {}

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    async def run(
        self, model_id: str, probe: str, deadline_s: float | None = None
    ) -> ProbeRun:
        """Probe ``model_id`` with ``probe``; always returns a record.

        ``deadline_s`` bounds the whole probe, the wait for a provider slot
        included; the client's own timeouts normally end it well before.
        """
        catalog = self._catalog
        task = catalog.tasks[probe]
        request = ChatRequest(
            model=model_id,
            prompt=task.prompt,
            max_tokens=catalog.max_tokens(probe),
            temperature=task.temperature,
        )
        run = await self.send(model_id, probe, request, deadline_s)
        grade = await self._grade(probe, run.measurement)
        if grade is not None:
            _take_grade(run.record, grade)
            run.grade = grade
        return run

    async def send(
        self,
        model_id: str,
        probe: str,
        request: ChatRequest,
        deadline_s: float | None = None,
    ) -> ProbeRun:
        """Send one request made by the caller (the context sweep makes its
        own prompts) within the provider's limits; the record is ungraded.

        ``deadline_s`` bounds the whole request, the wait for a provider slot
        included; the client's own timeouts normally end it well before.
        """
        provider = self._catalog.provider_of(model_id)
        queued_at = datetime.now(UTC)
        started_at: datetime | None = None
        cut = False
        try:
            async with asyncio.timeout(deadline_s) as scope:
                async with self._slot(provider):
                    await self._pacer(provider).wait()
                    started_at = datetime.now(UTC)
                    measurement = await self._client.complete(
                        provider.endpoint(), request, self._catalog.timeouts(probe)
                    )
        except TimeoutError:
            if not scope.expired():
                raise
            measurement = _cut(deadline_s, sent=started_at is not None)
            cut = True
            log.warning("%s %s: %s", probe, model_id, measurement.error_message)

        record = self._record(
            model_id, provider.name, probe, started_at or queued_at, measurement
        )
        answer = redact(measurement.answer, [provider.api_key() or ""])
        return ProbeRun(record, measurement, answer, cut)

    async def _grade(self, probe: str, measurement: Measurement) -> Grade | None:
        if self._grading is None or not self._grading.grades(probe):
            return None
        if not measurement.ok:
            return None
        return await self._grading.grade(probe, measurement.answer)

    def _record(
        self,
        model_id: str,
        provider: str,
        probe: str,
        started_at: datetime,
        m: Measurement,
    ) -> dict[str, Any]:
        model = self._catalog.models[model_id]
        record = m.fields()
        if m.response_model:
            record["response_model"] = m.response_model[:200]
        cost = None
        if m.output_tokens is not None or m.input_tokens is not None:
            cost = model.cost_usd(m.input_tokens, m.output_tokens)
        record.update(
            uid=uuid.uuid4().hex,
            started_at=started_at,
            model=model_id,
            provider=provider,
            probe=probe,
            vantage=self._vantage,
            cost_usd=cost,
            quality=None,
            grade_correctness=None,
            grade_code_quality=None,
            grade_documentation=None,
            grade_edge_cases=None,
            grade_method=None,
            grade_failed_checks=None,
            context_tokens=None,
            needle_depth=None,
            needle_found=None,
        )
        return record

    def _slot(self, provider: Provider) -> asyncio.Semaphore:
        slot = self._slots.get(provider.name)
        if slot is None:
            slot = asyncio.Semaphore(provider.max_concurrency)
            self._slots[provider.name] = slot
        return slot

    def _pacer(self, provider: Provider) -> _Pacer:
        pacer = self._pacers.get(provider.name)
        if pacer is None:
            pacer = _Pacer(provider.requests_per_minute)
            self._pacers[provider.name] = pacer
        return pacer


def _take_grade(record: dict[str, Any], grade: Grade) -> None:
    record.update(
        quality=grade.quality,
        grade_correctness=grade.correctness,
        grade_code_quality=grade.code_quality,
        grade_documentation=grade.documentation,
        grade_edge_cases=grade.edge_cases,
        grade_method=str(grade.method),
        grade_failed_checks=",".join(grade.failed_checks)[:2000] or None,
    )
