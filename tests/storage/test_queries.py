"""Queries the service and the scheduler lean on, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from storage import make_engine
from storage.queries import latest_per_model
from storage.stats import last_started
from tests.storage.rows import BASE, fill, result_row


def test_state_skips_the_probes_asked(database_url: str, tmp_path: Path) -> None:
    fill(
        database_url,
        tmp_path,
        [
            result_row(0),
            result_row(10, probe="context", ok=False, error_type="total_timeout"),
        ],
    )
    engine = make_engine(database_url)
    newest = latest_per_model(engine, ["glm-5"])
    skipped = latest_per_model(engine, ["glm-5"], False, ("context",))
    failure = latest_per_model(engine, ["glm-5"], True, ("context",))
    engine.dispose()
    assert newest["glm-5"]["probe"] == "context"
    assert skipped["glm-5"]["probe"] == "ping" and skipped["glm-5"]["ok"]
    assert failure == {}


def test_last_started_per_model_and_probe(database_url: str, tmp_path: Path) -> None:
    fill(
        database_url,
        tmp_path,
        [
            result_row(0),
            result_row(60),
            result_row(30, probe="flatten"),
            result_row(90, vantage="elsewhere"),
        ],
    )
    engine = make_engine(database_url)
    last = last_started(engine, BASE - timedelta(hours=1), "local")
    engine.dispose()
    assert last == {
        ("glm-5", "ping"): BASE + timedelta(seconds=60),
        ("glm-5", "flatten"): BASE + timedelta(seconds=30),
    }
