"""The recorder: samples into the stage they started in, stages into SQL
(both backends), the knee of a step run, and live metrics."""

from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import generate_latest

from loadtests.metrics import LoadMetrics
from loadtests.plans import build_plan
from loadtests.recorder import RunRecorder, failed_checks
from loadtests.settings import LoadSettings
from storage import create_schema, make_engine
from storage.loadruns import ALL_MODELS, recent_runs, stages_of
from tests.load.samples import failed, ok

T0 = 1_800_000_000.0


def _peak_hour_run(recorder: RunRecorder) -> None:
    plan = build_plan("peak-hour", 2, 5, duration_s=100, steps=1)
    recorder.start("peak-hour", "http://127.0.0.1:9", T0, LoadSettings())
    begin = T0
    for index, stage in enumerate(plan):
        recorder.stage_started(
            index, stage, begin, plan[index - 1].users if index else 0
        )
        begin += stage.duration_s
    recorder.plan_ended(begin)


def test_samples_land_in_the_stage_they_started_in(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    recorder = RunRecorder(LoadSettings(), "simulator", "local", engine=engine)
    _peak_hour_run(recorder)
    # Quiet: 0-25 s; peak: 40-70 s (see loadtests.plans).
    recorder.add_all([ok(T0 + 1, 0.2), ok(T0 + 24.9, 0.4), ok(T0 + 1, 0.3, "kimi")])
    recorder.add_all([ok(T0 + 41, 1.0), ok(T0 + 50, 1.4), failed(T0 + 60, "http_5xx")])
    recorder.add(ok(T0 + 100.5, 9.9))  # after the plan: belongs to no stage
    recorder.add(ok(T0 - 1, 9.9))  # before it
    result = recorder.finish(T0 + 104)

    assert result is not None and recorder.unplaced == 2
    assert result.knee is None and result.overall.requests == 6
    [run] = recent_runs(engine)
    rows = {(s.stage, s.model): s for s in stages_of(engine, run.id)}
    engine.dispose()
    assert run.ended_at is not None and run.shape == "peak-hour"
    assert run.settings["base_users"] == 2

    quiet, peak = rows[("quiet", ALL_MODELS)], rows[("peak", ALL_MODELS)]
    assert quiet.role == "quiet" and peak.role == "peak"
    assert quiet.requests == 3 and quiet.ttft_p50_s == pytest.approx(0.3)
    assert rows[("quiet", "glm-5")].requests == 2
    assert rows[("quiet", "kimi")].ttft_p50_s == pytest.approx(0.3)
    assert peak.requests == 3 and peak.failures == 1
    assert peak.failures_by_type == {"http_5xx": 1}
    assert peak.ttft_p50_s == pytest.approx(1.2)
    assert peak.users == 10 and peak.users_start == 10
    assert rows[("ramp-up", ALL_MODELS)].users_start == 2
    assert peak.request_rate == pytest.approx(3 / 30)
    assert peak.meets_slo is False and quiet.meets_slo is True
    assert rows[("recovery", ALL_MODELS)].requests == 0


def test_step_run_finds_the_knee_and_marks_the_breaching_step() -> None:
    recorder = RunRecorder(LoadSettings(shape="step"), "simulator", "local")
    plan = build_plan("step", 2, 5, duration_s=40, steps=4)
    recorder.start("step", "http://127.0.0.1:9", T0, LoadSettings(shape="step"))
    for index, stage in enumerate(plan):
        recorder.stage_started(index, stage, T0 + 10 * index, 0)
    recorder.plan_ended(T0 + 40)
    for index, ttft in enumerate((0.2, 0.3, 0.9, 0.4)):
        recorder.add_all(ok(T0 + 10 * index + 1, ttft) for _ in range(10))

    assert recorder.verdict(1, T0 + 25) is True
    assert recorder.verdict(2, T0 + 35) is False
    result = recorder.finish(T0 + 41)

    assert result is not None and result.knee is not None
    assert (result.knee.stage_index, result.knee.users) == (1, 4)
    assert result.knee.request_rate == pytest.approx(1.0)
    assert result.knee.saturated
    roles = {s.stage: s.role for s in result.stages if s.model == ALL_MODELS}
    assert roles == {
        "step-1": "quiet",
        "step-2": None,
        "step-3": "peak",
        "step-4": None,
    }


def test_samples_outside_a_run_only_reach_the_metrics() -> None:
    metrics = LoadMetrics("simulator", "local")
    recorder = RunRecorder(LoadSettings(), "simulator", "local", metrics=metrics)
    recorder.add(ok(T0, 0.2))
    assert recorder.finish(T0 + 1) is None
    exposed = generate_latest(metrics.registry).decode()
    assert (
        'prober_requests_total{model="glm-5",probe="flatten",provider="simulator"'
        in (exposed)
    )


def test_a_database_failure_is_logged_not_raised(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite")
    recorder = RunRecorder(LoadSettings(), "simulator", "local", engine=engine)
    _peak_hour_run(recorder)
    recorder.add(ok(T0 + 1, 0.2))
    assert recorder.finish(T0 + 101) is not None
    engine.dispose()
    assert "could not start the run in the database" in caplog.text


def test_a_second_run_starts_clean() -> None:
    recorder = RunRecorder(LoadSettings(), "simulator", "local")
    _peak_hour_run(recorder)
    recorder.add(ok(T0 + 1, 0.2))
    first = recorder.finish(T0 + 101)
    settings = replace(LoadSettings(), base_users=3)
    recorder.start("steady", "http://127.0.0.1:9", T0 + 200, settings)
    plan = build_plan("steady", 3, 5, duration_s=10, steps=1)
    recorder.stage_started(0, plan[0], T0 + 200, 0)
    second = recorder.finish(T0 + 210)
    assert first is not None and second is not None
    assert first.run_id != second.run_id
    assert [s.requests for s in second.stages] == [0]


def test_exit_gates_judge_the_whole_run() -> None:
    recorder = RunRecorder(LoadSettings(), "simulator", "local")
    _peak_hour_run(recorder)
    recorder.add_all(ok(T0 + 1, t) for t in (0.1, 0.2, 0.3, 0.4, 2.0))
    recorder.add(failed(T0 + 50, "http_5xx"))
    result = recorder.finish(T0 + 101)

    assert failed_checks(LoadSettings(), result) == []
    passing = LoadSettings(check_ttft_p95_s=2.0, check_error_rate=0.2)
    assert failed_checks(passing, result) == []
    failing = LoadSettings(check_ttft_p95_s=1.0, check_error_rate=0.1)
    assert failed_checks(failing, result) == [
        "TTFT p95 1.680 s is above 1 s",
        "error rate 0.167 is above 0.1",
    ]
