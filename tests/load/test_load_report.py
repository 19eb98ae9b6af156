"""``prober report --load`` on runs the recorder stored (both backends)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loadtests.plans import build_plan
from loadtests.recorder import RunRecorder
from loadtests.settings import LoadSettings
from prober.cli import main
from prober.load_report import load_reports
from storage import create_schema, make_engine
from tests.load.samples import failed, ok

T0 = 1_800_000_000.0


def _record(database_url: str, shape: str, quiet: list[float], peak: list[float],
            peak_errors: int = 0, at: float = T0) -> str:  # fmt: skip
    """A run whose quiet (or first) stage and peak stage had these TTFTs."""
    engine = make_engine(database_url)
    create_schema(engine)
    settings = LoadSettings(shape=shape)
    recorder = RunRecorder(settings, "simulator", "local", engine=engine)
    plan = build_plan(shape, 2, 5, duration_s=100, steps=2)
    run_id = recorder.start(shape, "http://127.0.0.1:9", at, settings)
    begin = at
    for index, stage in enumerate(plan):
        recorder.stage_started(index, stage, begin, 0)
        if stage.role == "quiet":
            recorder.add_all(ok(begin + 1, t) for t in quiet)
        if stage.role == "peak" or (shape == "step" and index == 1):
            recorder.add_all(ok(begin + 1, t, model="kimi") for t in peak)
            recorder.add_all(failed(begin + 1, "http_5xx") for _ in range(peak_errors))
        begin += stage.duration_s
    recorder.finish(begin)
    engine.dispose()
    return run_id


def test_peak_over_quiet_slowdown_and_errors_at_peak(database_url: str) -> None:
    run_id = _record(database_url, "peak-hour", [0.2] * 10, [0.8] * 9, peak_errors=1)
    engine = make_engine(database_url)
    [report] = load_reports(engine)
    engine.dispose()

    assert report.run.id == run_id
    overall, *models = report.models
    assert overall.model == "*"
    assert overall.ttft_p50_quiet_s == pytest.approx(0.2)
    assert overall.ttft_p50_slowdown == pytest.approx(4.0)
    assert overall.ttft_p95_slowdown == pytest.approx(4.0)
    assert overall.peak_error_rate == pytest.approx(0.1)
    assert overall.peak_failures_by_type == {"http_5xx": 1}
    assert (overall.quiet_users, overall.peak_users) == (2, 10)
    by_name = {m.model: m for m in models}
    # glm-5 ran only in the quiet hour and kimi only at the peak: no ratio.
    assert by_name["glm-5"].ttft_p50_slowdown is None
    assert by_name["kimi"].ttft_p50_peak_s == pytest.approx(0.8)


def test_cli_prints_runs_newest_first_and_json(database_url: str) -> None:
    first = _record(database_url, "spike", [0.1] * 5, [0.3] * 5)
    second = _record(database_url, "step", [0.1] * 5, [0.9] * 5, at=T0 + 600)
    runner = CliRunner()

    text = runner.invoke(main, ["report", "--load", "--database", database_url])
    assert text.exit_code == 0, text.output
    assert text.output.index(second[:12]) < text.output.index(first[:12])
    assert "3.0x" in text.output  # the spike: 300 ms over 100 ms
    assert "knee: below the first step" not in text.output
    assert "knee: 2 users" in text.output  # step-2 missed the SLO

    lines = runner.invoke(
        main,
        [
            "report",
            "--load",
            "--database",
            database_url,
            "--format",
            "json",
            "--run",
            first,
        ],  # fmt: skip
    ).output.splitlines()
    [record] = [json.loads(line) for line in lines]
    assert record["run_id"] == first and record["shape"] == "spike"
    assert record["started_at"] == "2027-01-15T08:00:00+00:00"
    assert record["models"][0]["ttft_p50_slowdown"] == pytest.approx(3.0)


def test_a_run_without_an_end_says_so(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    recorder = RunRecorder(
        LoadSettings(shape="step"), "simulator", "local", engine=engine
    )
    recorder.start("step", "http://127.0.0.1:9", T0, LoadSettings(shape="step"))
    engine.dispose()
    result = CliRunner().invoke(main, ["report", "--load", "--database", database_url])
    assert "no end recorded" in result.output and "knee" not in result.output


def test_cli_handles_an_empty_database(tmp_path: object) -> None:
    runner = CliRunner()
    Path(f"{tmp_path}/empty.db").touch()
    empty = f"sqlite:///{tmp_path}/empty.db"
    both = runner.invoke(main, ["report", "--load", "--context", "--database", empty])
    assert both.exit_code == 2 and "choose one report" in both.output
    result = runner.invoke(main, ["report", "--load", "--database", empty])
    assert result.exit_code == 0 and "no load-test runs" in result.output
    named = runner.invoke(
        main, ["report", "--load", "--run", "nope", "--database", empty]
    )
    assert named.exit_code == 1
    assert "no load-test run matches --run nope" in named.stderr
