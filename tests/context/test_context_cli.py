"""`prober once --probe context` and `prober report --context` as a user
runs them: cost first, a JSON record per request, sweeps stored, a table
and PNG charts from the database."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.context.conftest import FastSimulator

pytestmark = pytest.mark.timeout(240)

LADDER = "[probes.context]\nladder = [1024, 8192, 32768, 65536]\ndepths = [0.2, 0.8]\n"
PNG = b"\x89PNG\r\n\x1a\n"


def prober(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prober", *args],
        capture_output=True,
        text=True,
        timeout=200,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def swept(
    fast_simulator: FastSimulator, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("once")
    config = fast_simulator.config(folder, LADDER)
    done = prober(
        folder, "once", "--config", str(config), "--probe", "context",
        "--model", "deepseek-coder", "--model", "hunyuan-turbo", "--json",
    )  # fmt: skip
    return folder, done


def test_once_prints_the_cost_then_one_record_per_request(
    swept: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, done = swept
    assert done.returncode == 0, done.stderr

    records = [json.loads(line) for line in done.stdout.splitlines()]

    assert "context sweep of deepseek-coder: 8 requests" in done.stderr
    assert "context sweep of hunyuan-turbo: 6 requests" in done.stderr
    assert "input_price_per_mtok" in done.stderr
    coder = [r for r in records if r["model"] == "deepseek-coder"]
    assert len(coder) == 8 and len(records) == 14
    assert [r["needle_depth"] for r in coder[:2]] == [0.2, 0.8]
    assert [r["needle_found"] for r in coder] == [True] * 6 + [False] * 2
    assert all(r["probe"] == "context" and r["ok"] for r in records)
    assert coder[-1]["context_tokens"] > 0.9 * 65536


def test_once_stores_the_records_and_the_sweeps(
    swept: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, done = swept
    assert done.returncode == 0, done.stderr

    with sqlite3.connect(folder / "prober.db") as db:
        rows = db.execute(
            "SELECT COUNT(*) FROM probe_results WHERE probe = 'context'"
        ).fetchone()
        sweeps = dict(
            db.execute("SELECT model, effective_context_tokens FROM context_sweeps")
        )
        cells = db.execute("SELECT COUNT(*) FROM context_sweep_cells").fetchone()

    assert rows == (14,)
    assert sweeps == {"deepseek-coder": 32768, "hunyuan-turbo": 8192}
    assert cells == (14,)


def test_report_prints_tables_and_writes_charts(
    swept: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, done = swept
    assert done.returncode == 0, done.stderr

    shown = prober(folder, "report", "--context", "--plot", "charts")

    assert shown.returncode == 0, shown.stderr
    assert "deepseek-coder: effective context 32k" in shown.stdout
    assert "hunyuan-turbo: effective context >=8k" not in shown.stdout
    assert "hunyuan-turbo: effective context 8k" in shown.stdout
    charts = sorted(path.name for path in (folder / "charts").iterdir())
    assert charts == [
        "context-accuracy-deepseek-coder.png", "context-accuracy-hunyuan-turbo.png",
        "context-ttft-deepseek-coder.png", "context-ttft-hunyuan-turbo.png",
    ]  # fmt: skip
    for name in charts:
        assert (folder / "charts" / name).read_bytes().startswith(PNG)


def test_report_filters_by_model_and_window(
    swept: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, _ = swept

    one = prober(folder, "report", "--context", "--model", "hunyuan-turbo")
    none = prober(folder, "report", "--context", "--since", "2999-01-01")

    assert one.returncode == 0 and "deepseek-coder" not in one.stdout
    assert "hunyuan-turbo" in one.stdout
    assert none.returncode == 0 and "no context sweeps stored" in none.stdout


def test_report_needs_results_and_a_readable_window(tmp_path: Path) -> None:
    bare = prober(tmp_path, "report")
    bad = prober(tmp_path, "report", "--context", "--since", "yesterday")
    plot = prober(tmp_path, "report", "--plot", str(tmp_path))

    assert bare.returncode == 1 and "no database at prober.db" in bare.stderr
    assert bad.returncode == 2 and "yesterday" in bad.stderr
    assert plot.returncode == 2 and "--plot goes with --context" in plot.stderr
