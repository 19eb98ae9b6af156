"""`prober report` over known rows, on SQLite and PostgreSQL: value is
quality over price, spend sums per model and day, every format renders."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from prober.catalog import build_catalog
from prober.cli import main
from prober.config import load_config
from prober.ranking import ranking
from storage import RECORD_FIELDS, make_engine
from tests.storage.rows import fill


def _row(model: str, probe: str, quality: float | None, cost: float, ok: bool = True,
         hours_ago: float = 1.0) -> dict[str, Any]:  # fmt: skip
    row: dict[str, Any] = dict.fromkeys(RECORD_FIELDS)
    row.update(
        uid=uuid.uuid4().hex,
        started_at=datetime.now(UTC) - timedelta(hours=hours_ago),
        model=model,
        provider="simulator",
        probe=probe,
        vantage="local",
        ok=ok,
        error_type=None if ok else "http_5xx",
        ttft_s=0.4 if ok else None,
        output_tokens_per_s=50.0 if ok else None,
        cost_usd=cost,
        quality=quality,
    )
    return row


def _report(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["report", "--database", url, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_ranking_figures(database_url: str, tmp_path: Path) -> None:
    fill(
        database_url,
        tmp_path,
        [
            _row("glm-5", "flatten", 8.0, 0.002),
            _row("glm-5", "code-review", 6.0, 0.003),
            _row("glm-5", "ping", None, 0.0001),
            _row("glm-5", "ping", None, 0.0, ok=False),
            _row("deepseek-v4-flash", "flatten", 9.0, 0.001),
            _row("deepseek-v4-flash", "flatten", 7.0, 0.001, hours_ago=48),
        ],
    )
    payload = json.loads(_report(database_url, "--format", "json", "--since", "24h"))
    assert payload["window"] == "24h"
    rows = {row["model"]: row for row in payload["ranking"]}
    glm = rows["glm-5"]
    assert glm["quality"] == 7.0 and glm["graded"] == 2
    assert abs(glm["value"] - 7.0 / 1.92) < 1e-9
    assert glm["reference_quality"] == 8.0 and glm["reference_value"] == 4.2
    assert abs(glm["spend_usd"] - 0.0051) < 1e-9
    assert glm["error_rate"] == 0.25
    flash = rows["deepseek-v4-flash"]
    assert flash["quality"] == 9.0  # the 48-hour-old grade is outside the window
    assert flash["rank"] == 1  # highest measured value
    assert rows["kimi-k2.5"]["quality"] is None

    by_task = {row["model"]: row for row in payload["quality_by_task"]}
    assert by_task["glm-5"]["flatten"] == 8.0
    assert by_task["glm-5"]["code-review"] == 6.0
    day = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d")
    spend = {row["model"]: row for row in payload["spend_by_day"]}
    assert abs(spend["glm-5"][day] - 0.0051) < 1e-9

    week = json.loads(_report(database_url, "--format", "json", "--since", "7d"))
    assert {r["model"]: r for r in week["ranking"]}["deepseek-v4-flash"][
        "quality"
    ] == 8.0


def test_text_formats(database_url: str, tmp_path: Path) -> None:
    fill(database_url, tmp_path, [_row("glm-5", "flatten", 8.0, 0.002)])
    markdown = _report(database_url, "--format", "markdown")
    assert "| rank | model | quality |" in markdown
    assert "| 1 | glm-5 | 8.00 | 1.92 | 4.2 |" in markdown
    table = _report(database_url)
    assert "Ranking since" in table and "glm-5" in table
    text = _report(database_url, "--format", "csv")
    first = next(csv.DictReader(io.StringIO(text)))
    assert first["model"] == "glm-5" and float(first["quality"]) == 8.0


def test_report_on_an_empty_database_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(main, ["report", "--database", url])
    assert result.exit_code == 1
    assert "holds no results yet" in result.output


def test_context_sweep_failures_are_not_downtime(
    database_url: str, tmp_path: Path
) -> None:
    # One good ping and coding probe, then a sweep whose long prompts all
    # time out: the model was up the whole time.
    sweep = [_row("glm-5", "context", None, 0.01, ok=False) for _ in range(5)]
    fill(
        database_url,
        tmp_path,
        [_row("glm-5", "ping", None, 0.0001), _row("glm-5", "flatten", 8.0, 0.002)]
        + sweep,
    )
    payload = json.loads(_report(database_url, "--format", "json"))
    glm = {row["model"]: row for row in payload["ranking"]}["glm-5"]
    assert glm["error_rate"] == 0.0 and glm["uptime"] == 1.0
    assert glm["probes"] == 2
    # The sweep's spend still counts: it was paid for.
    assert abs(glm["spend_usd"] - 0.0521) < 1e-9


def test_maintenance_leaves_uptime_but_not_the_error_rate(
    database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=3), now - timedelta(hours=2)
    config = tmp_path / "prober.toml"
    config.write_text(
        f"[[maintenance]]\nstart = {start:%Y-%m-%dT%H:%M:%SZ}\n"
        f'end = {end:%Y-%m-%dT%H:%M:%SZ}\nmodels = ["glm-5"]\n'
    )
    fill(
        database_url,
        tmp_path,
        [
            _row("glm-5", "ping", None, 0.0001),
            _row("glm-5", "ping", None, 0.0, ok=False, hours_ago=2.5),
        ],
    )
    engine = make_engine(database_url)
    catalog = build_catalog(load_config(config), str(config))
    glm = {row.model: row for row in ranking(engine, catalog, "24h", now)}["glm-5"]
    engine.dispose()
    assert glm.error_rate == 0.5
    assert glm.uptime == 1.0
