"""``prober report --load``: what the capacity tests found, per run and model.

For each run (newest first) and each model, and for all models together:
the users at the quiet stage and at the peak, TTFT p50 and p95 at both and
the peak-over-quiet slowdown factor of each, and the error rate at the peak
with the failures by type. A step run also gives its knee: the highest step
that met the SLO below the first that did not.

The quiet and peak stages are the ones the load shape marked: peak-hour
compares its quiet hour with the held peak, spike its baseline with the
spike, step its first step with the first breaching (or the last) step. A
steady run has no peak, so no slowdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from storage.loadruns import ALL_MODELS, LoadRun, LoadStage, recent_runs, stages_of
from storage.tables import utc

__all__ = ["ModelLoad", "RunReport", "load_reports", "render"]


@dataclass(frozen=True, slots=True)
class ModelLoad:
    model: str
    quiet_users: int | None
    peak_users: int | None
    ttft_p50_quiet_s: float | None
    ttft_p50_peak_s: float | None
    ttft_p50_slowdown: float | None
    ttft_p95_quiet_s: float | None
    ttft_p95_peak_s: float | None
    ttft_p95_slowdown: float | None
    quiet_requests: int | None
    peak_requests: int | None
    peak_error_rate: float | None
    peak_failures_by_type: dict[str, int]


@dataclass(frozen=True, slots=True)
class RunReport:
    run: LoadRun
    models: list[ModelLoad]

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "run_id": run.id,
            "shape": run.shape,
            "host": run.host,
            "provider": run.provider,
            "vantage": run.vantage,
            "started_at": utc(run.started_at).isoformat(),
            "ended_at": None if run.ended_at is None else utc(run.ended_at).isoformat(),
            "slo_ttft_p95_s": run.slo_ttft_p95_s,
            "slo_error_rate": run.slo_error_rate,
            "knee_users": run.knee_users,
            "knee_request_rate": run.knee_request_rate,
            "saturated": run.saturated,
            "models": [asdict(model) for model in self.models],
        }


def load_reports(
    engine: Engine, run_ids: Sequence[str] = (), last: int = 5
) -> list[RunReport]:
    """Reports of the newest ``last`` runs, or of those ``run_ids`` name."""
    runs = recent_runs(engine, limit=last, ids=run_ids)
    return [RunReport(run, _models(stages_of(engine, run.id))) for run in runs]


def _models(stages: list[LoadStage]) -> list[ModelLoad]:
    quiet = {s.model: s for s in stages if s.role == "quiet"}
    peak = {s.model: s for s in stages if s.role == "peak"}
    names = sorted({s.model for s in stages} - {ALL_MODELS})
    return [
        _model(name, quiet.get(name), peak.get(name)) for name in [ALL_MODELS, *names]
    ]


def _model(name: str, quiet: LoadStage | None, peak: LoadStage | None) -> ModelLoad:
    q50 = quiet.ttft_p50_s if quiet else None
    q95 = quiet.ttft_p95_s if quiet else None
    p50 = peak.ttft_p50_s if peak else None
    p95 = peak.ttft_p95_s if peak else None
    return ModelLoad(
        model=name,
        quiet_users=quiet.users if quiet else None,
        peak_users=peak.users if peak else None,
        ttft_p50_quiet_s=q50,
        ttft_p50_peak_s=p50,
        ttft_p50_slowdown=_ratio(p50, q50),
        ttft_p95_quiet_s=q95,
        ttft_p95_peak_s=p95,
        ttft_p95_slowdown=_ratio(p95, q95),
        quiet_requests=quiet.requests if quiet else None,
        peak_requests=peak.requests if peak else None,
        peak_error_rate=peak.error_rate if peak else None,
        peak_failures_by_type=dict(peak.failures_by_type) if peak else {},
    )


def _ratio(peak: float | None, quiet: float | None) -> float | None:
    if peak is None or quiet is None or quiet <= 0:
        return None
    return peak / quiet


def render(reports: list[RunReport]) -> RenderableType:
    if not reports:
        return Text("no load-test runs in the database")
    return Group(*(_run_block(report) for report in reports))


def _run_block(report: RunReport) -> RenderableType:
    run = report.run
    caption = _caption(run)
    if any(_few(m.quiet_requests) or _few(m.peak_requests) for m in report.models):
        caption += (
            f"; fewer than {_FEW_REQUESTS} requests in a stage make its "
            "percentiles rough: run longer, or with shorter answers"
        )
    table = Table(title=_title(run), title_justify="left", caption=caption)
    for name in ("model", "users quiet -> peak", "requests"):
        table.add_column(name)
    for name in ("TTFT p50 ms", "slower", "TTFT p95 ms", "slower", "errors at peak"):
        table.add_column(name, justify="right")
    for model in report.models:
        table.add_row(
            "all models" if model.model == ALL_MODELS else model.model,
            f"{_int(model.quiet_users)} -> {_int(model.peak_users)}",
            f"{_int(model.quiet_requests)} -> {_int(model.peak_requests)}",
            f"{_ms(model.ttft_p50_quiet_s)} -> {_ms(model.ttft_p50_peak_s)}",
            _times(model.ttft_p50_slowdown),
            f"{_ms(model.ttft_p95_quiet_s)} -> {_ms(model.ttft_p95_peak_s)}",
            _times(model.ttft_p95_slowdown),
            _errors(model),
        )
    return table


_FEW_REQUESTS = 20


def _few(requests: int | None) -> bool:
    return requests is not None and requests < _FEW_REQUESTS


def _title(run: LoadRun) -> str:
    started = utc(run.started_at).strftime("%Y-%m-%d %H:%M UTC")
    length = ""
    if run.ended_at is not None:
        length = f", {(utc(run.ended_at) - utc(run.started_at)).total_seconds():.0f} s"
    return f"load run {run.id[:12]}: {run.shape}, {started}{length}"


def _caption(run: LoadRun) -> str:
    slo = (
        f"SLO: TTFT p95 <= {run.slo_ttft_p95_s * 1000:.0f} ms, "
        f"errors < {run.slo_error_rate:.1%}"
    )
    parts = [f"{run.provider} at {run.host}", slo]
    if run.ended_at is None:
        parts.append("no end recorded: still running, or cut short")
    elif run.shape == "step":
        parts.append(_knee(run))
    return "; ".join(parts)


def _knee(run: LoadRun) -> str:
    if run.knee_users is not None:
        rate = run.knee_request_rate or 0.0
        above = "saturated above it" if run.saturated else "no step missed the SLO"
        return f"knee: {run.knee_users} users ({rate:.2f} req/s), {above}"
    if run.saturated:
        return "knee: below the first step, which missed the SLO"
    return "knee: not found (no step ran with requests)"


def _errors(model: ModelLoad) -> str:
    if model.peak_error_rate is None:
        return "-"
    kinds = ", ".join(f"{k} {n}" for k, n in model.peak_failures_by_type.items())
    return f"{model.peak_error_rate:.1%}" + (f" ({kinds})" if kinds else "")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _int(value: int | None) -> str:
    return "-" if value is None else str(value)
