"""The master's account of a run: samples into stages, stages into SQL.

One :class:`RunRecorder` lives in the process that runs the shape (the
master, or the only process). It is told when the run and each stage start
and when the plan ends; every sample it is given (local or sent by a worker)
goes to the live metrics at once and into the stage in which its request
started. When the run finishes it computes each stage's statistics per model
and for all models, finds the knee of a step run, and stores the run and its
stages. A database failure is logged and never stops the load test.

It imports nothing from Locust, so it runs the same under gevent and in
plain tests.
"""

from __future__ import annotations

import bisect
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from loadtests.metrics import LoadMetrics
from loadtests.plans import Stage
from loadtests.samples import Sample
from loadtests.settings import LoadSettings
from loadtests.stages import Knee, StageStats, find_knee, stage_stats
from storage.loadruns import (
    ALL_MODELS,
    LoadRun,
    LoadStage,
    finish_run,
    save_stages,
    start_run,
)

__all__ = ["RunRecorder", "RunResult", "checks_set", "failed_checks"]

log = logging.getLogger(__name__)

_Row = TypeVar("_Row", LoadRun, LoadStage)


@dataclass(slots=True)
class _Window:
    index: int
    stage: Stage
    started_at: float
    users_start: int
    ended_at: float | None = None
    samples: list[Sample] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: str
    stages: list[LoadStage]
    knee: Knee | None
    overall: StageStats


class RunRecorder:
    """Collects one run at a time; see the module docstring."""

    def __init__(
        self,
        settings: LoadSettings,
        provider: str,
        vantage: str,
        metrics: LoadMetrics | None = None,
        engine: Engine | None = None,
        cost: Callable[[Sample], float | None] = lambda sample: None,
    ) -> None:
        self._settings = settings
        self._provider = provider
        self._vantage = vantage
        self._metrics = metrics
        self._engine = engine
        self._cost = cost
        self._run: LoadRun | None = None
        self._windows: list[_Window] = []
        self._starts: list[float] = []
        self._plan_ended_at: float | None = None
        self.unplaced = 0

    @property
    def running(self) -> bool:
        return self._run is not None

    def start(self, shape: str, host: str, at: float, settings: LoadSettings) -> str:
        """Open a run (storing it with no end yet) and return its id."""
        self._settings = settings
        self._windows, self._starts = [], []
        self._plan_ended_at = None
        self.unplaced = 0
        self._run = LoadRun(
            id=uuid.uuid4().hex,
            shape=shape,
            host=host,
            provider=self._provider,
            vantage=self._vantage,
            started_at=_utc(at),
            slo_ttft_p95_s=settings.slo_ttft_p95_s,
            slo_error_rate=settings.slo_error_rate,
            settings=asdict(settings),
        )
        self._store("start the run", start_run, _fresh(self._run))
        log.info("load run %s: %s shape against %s", self._run.id, shape, host)
        return self._run.id

    def stage_started(
        self, index: int, stage: Stage, at: float, users_start: int
    ) -> None:
        if self._windows and self._windows[-1].ended_at is None:
            self._windows[-1].ended_at = at
        self._windows.append(_Window(index, stage, at, users_start))
        self._starts.append(at)
        log.info("stage %d %s: %d users", index, stage.name, stage.users)

    def plan_ended(self, at: float) -> None:
        """The last stage is over; later samples belong to no stage."""
        if self._windows and self._windows[-1].ended_at is None:
            self._windows[-1].ended_at = at
        self._plan_ended_at = at

    def add(self, sample: Sample) -> None:
        if self._metrics is not None:
            self._metrics.observe(sample, self._cost(sample))
        window = self._window_of(sample.started_at)
        if window is None:
            self.unplaced += 1
            return
        window.samples.append(sample)

    def add_all(self, samples: Iterable[Sample]) -> None:
        for sample in samples:
            self.add(sample)

    def verdict(self, index: int, now: float) -> bool | None:
        """The SLO verdict on stage ``index`` from the samples in so far."""
        window = next((w for w in self._windows if w.index == index), None)
        if window is None:
            return None
        end = window.ended_at or now
        stats = stage_stats(ALL_MODELS, window.samples, end - window.started_at)
        return self._settings.slo.verdict(stats)

    def finish(self, at: float) -> RunResult | None:
        """Close the run: compute, store and return its results."""
        run = self._run
        if run is None:
            return None
        self._run = None
        self.plan_ended(self._plan_ended_at or at)
        rows = [row for window in self._windows for row in self._rows(run.id, window)]
        knee = self._knee(rows) if run.shape == "step" else None
        samples = [s for window in self._windows for s in window.samples]
        overall = stage_stats(ALL_MODELS, samples, at - run.started_at.timestamp())
        ended = {"ended_at": _utc(at), **_knee_columns(knee)}
        self._store("store the stages", save_stages, [_fresh(row) for row in rows])
        self._store("finish the run", finish_run, run.id, **ended)
        if self.unplaced:
            log.info(
                "%d samples came outside the stages and are not stored", self.unplaced
            )
        return RunResult(run.id, rows, knee, overall)

    def _window_of(self, started_at: float) -> _Window | None:
        position = bisect.bisect_right(self._starts, started_at) - 1
        if position < 0 or self._run is None:
            return None
        window = self._windows[position]
        if window.ended_at is not None and started_at >= window.ended_at:
            return None
        return window

    def _rows(self, run_id: str, window: _Window) -> list[LoadStage]:
        end = window.ended_at or window.started_at
        duration = end - window.started_at
        by_model: dict[str, list[Sample]] = {ALL_MODELS: window.samples}
        for sample in window.samples:
            by_model.setdefault(sample.model, []).append(sample)
        rows = []
        for model, samples in by_model.items():
            stats = stage_stats(model, samples, duration)
            rows.append(self._row(run_id, window, end, stats))
        return rows

    def _row(
        self, run_id: str, window: _Window, end: float, stats: StageStats
    ) -> LoadStage:
        figures = asdict(stats)
        return LoadStage(
            run_id=run_id,
            stage_index=window.index,
            stage=window.stage.name,
            role=window.stage.role,
            started_at=_utc(window.started_at),
            ended_at=_utc(end),
            users=window.stage.users,
            users_start=window.users_start,
            meets_slo=self._settings.slo.verdict(stats),
            **figures,
        )

    def _knee(self, rows: list[LoadStage]) -> Knee:
        steps = [
            (row.stage_index, row.users, row.request_rate, row.meets_slo)
            for row in rows
            if row.model == ALL_MODELS
        ]
        knee = find_knee(steps)
        peak = _peak_step(steps, knee)
        for row in rows:
            if row.stage_index == peak:
                row.role = "peak"
        return knee

    def _store(
        self, what: str, action: Callable[..., None], *args: object, **kw: object
    ) -> None:
        if self._engine is None:
            return
        try:
            action(self._engine, *args, **kw)
        except SQLAlchemyError as exc:
            log.error(
                "could not %s in the database: %s", what, str(exc).splitlines()[0]
            )


def checks_set(settings: LoadSettings) -> bool:
    """True when any ``--check-*`` exit gate is given."""
    return bool(
        settings.check_ttft_p95_s
        or settings.check_e2e_p95_s
        or settings.check_error_rate
    )


def failed_checks(settings: LoadSettings, result: RunResult | None) -> list[str]:
    """What the run's exit gates found wrong, one line each; a run with no
    successful request fails every latency gate."""
    if result is None or not checks_set(settings):
        return []
    overall = result.overall
    checks = [
        ("TTFT p95", overall.ttft_p95_s, settings.check_ttft_p95_s, " s"),
        ("end-to-end p95", overall.e2e_p95_s, settings.check_e2e_p95_s, " s"),
        ("error rate", overall.error_rate, settings.check_error_rate, ""),
    ]
    failed = []
    for name, value, limit, unit in checks:
        if limit and (value is None or value > limit):
            shown = "none" if value is None else f"{value:.3f}{unit}"
            failed.append(f"{name} {shown} is above {limit:g}{unit}")
    return failed


def _peak_step(
    steps: list[tuple[int, int, float, bool | None]], knee: Knee
) -> int | None:
    """The step a report compares with the first: the first breach, or the
    last step when none breached."""
    if not steps:
        return None
    for index, _users, _rate, verdict in steps:
        if verdict is False and knee.saturated:
            return index
    return steps[-1][0]


def _knee_columns(knee: Knee | None) -> dict[str, object]:
    if knee is None:
        return {}
    return {
        "knee_stage": knee.stage_index,
        "knee_users": knee.users,
        "knee_request_rate": knee.request_rate,
        "saturated": knee.saturated,
    }


def _fresh(row: _Row) -> _Row:
    """A copy to hand to a session, which expires what it commits; the
    recorder's own rows stay readable after the session closes."""
    return type(row).model_validate(row.model_dump())


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
