"""Load-test runs and stages on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import create_schema, make_engine
from storage.loadruns import (
    ALL_MODELS,
    LoadRun,
    LoadStage,
    finish_run,
    recent_runs,
    save_stages,
    stages_of,
    start_run,
)

T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def _run(run_id: str, minutes: int) -> LoadRun:
    return LoadRun(
        id=run_id,
        shape="step",
        host="http://127.0.0.1:8000",
        provider="simulator",
        vantage="local",
        started_at=T0 + timedelta(minutes=minutes),
        slo_ttft_p95_s=0.5,
        slo_error_rate=0.01,
        settings={"base_users": 2, "models": ""},
    )


def _stage(run_id: str, index: int, model: str, **values: object) -> LoadStage:
    row = {
        "run_id": run_id,
        "stage_index": index,
        "stage": f"step-{index + 1}",
        "model": model,
        "started_at": T0 + timedelta(seconds=10 * index),
        "ended_at": T0 + timedelta(seconds=10 * index + 10),
        "users": 2 * (index + 1),
        "users_start": 2 * index,
        "requests": 20,
        "failures": 1,
        "request_rate": 2.0,
        "error_rate": 0.05,
        "failures_by_type": {"http_5xx": 1},
        **values,
    }
    return LoadStage.model_validate(row)


def test_a_run_and_its_stages_round_trip(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    start_run(engine, _run("a" * 32, 0))
    save_stages(
        engine,
        [
            _stage("a" * 32, 0, ALL_MODELS, ttft_p95_s=0.3, meets_slo=True),
            _stage("a" * 32, 0, "glm-5", ttft_p95_s=0.3),
            _stage("a" * 32, 1, ALL_MODELS, ttft_p95_s=None, meets_slo=False),
        ],
    )
    finish_run(
        engine,
        "a" * 32,
        ended_at=T0 + timedelta(seconds=20),
        knee_stage=0,
        knee_users=2,
        knee_request_rate=2.0,
        saturated=True,
    )

    [run] = recent_runs(engine)
    assert run.ended_at is not None and run.knee_users == 2 and run.saturated
    assert run.settings == {"base_users": 2, "models": ""}
    stages = stages_of(engine, run.id)
    engine.dispose()
    assert [(s.stage_index, s.model) for s in stages] == [
        (0, ALL_MODELS),
        (0, "glm-5"),
        (1, ALL_MODELS),
    ]
    assert stages[0].failures_by_type == {"http_5xx": 1}
    assert stages[2].ttft_p95_s is None and stages[2].meets_slo is False


def test_newest_runs_first_and_selection_by_prefix(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    for minutes, run_id in enumerate(("1" * 32, "2" * 32, "3" * 32)):
        start_run(engine, _run(run_id, minutes))

    assert [r.id[0] for r in recent_runs(engine, limit=2)] == ["3", "2"]
    assert [r.id[0] for r in recent_runs(engine, ids=["1111"])] == ["1"]
    with pytest.raises(KeyError):
        finish_run(engine, "f" * 32, ended_at=T0)
    engine.dispose()
