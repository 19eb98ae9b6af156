"""Sweep rows and their cells, written through the batched writer and read
back by window and model, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import (
    SweepWriter,
    create_schema,
    load_sweep_cells,
    load_sweeps,
    make_engine,
)

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def sweep_row(model: str, started_at: datetime) -> dict[str, Any]:
    return {
        "uid": uuid.uuid4().hex,
        "started_at": started_at,
        "model": model,
        "provider": "simulator",
        "vantage": "local",
        "seed": 2**31 - 1,
        "duration_s": 12.5,
        "ladder": "1024,4096",
        "depths": "0.1,0.9",
        "keep_ratio": 0.9,
        "requests": 4,
        "errors": 1,
        "input_tokens": 10_000,
        "output_tokens": 40,
        "cost_usd": 0.00001,
        "baseline_accuracy": 1.0,
        "effective_context_tokens": 4096,
        "effective_at_top": True,
        "prefill_intercept_s": 0.5,
        "prefill_slope_s_per_token": 1.25e-4,
        "prefill_tokens_per_s": 8000.0,
        "prefill_r2": 0.99,
        "prefill_points": 2,
    }


def cell_rows(sweep: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "uid": f"{sweep['uid']}-{length}-{round(depth * 1000)}",
            "sweep_uid": sweep["uid"],
            "started_at": sweep["started_at"],
            "model": sweep["model"],
            "provider": "simulator",
            "vantage": "local",
            "length_tokens": length,
            "length_label": f"{length // 1024}k",
            "needle_depth": depth,
            "requests": 1,
            "answered": 1 if length == 1024 else 0,
            "found": 1 if length == 1024 else 0,
            "accuracy": 1.0 if length == 1024 else None,
            "context_tokens": int(length * 0.97),
            "ttft_s": 0.6 if length == 1024 else None,
        }
        for length in (1024, 4096)
        for depth in (0.1, 0.9)
    ]


def test_sweeps_and_cells_round_trip(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    old = sweep_row("glm-5", NOW - timedelta(days=10))
    recent = [sweep_row("glm-5", NOW), sweep_row("qwen3-32b", NOW)]
    writer = SweepWriter(engine, tmp_path / "prober.db.spill")
    writer.start()
    for sweep in (old, *recent):
        writer.submit(sweep, cell_rows(sweep))
    # A replay after a crash writes nothing twice.
    writer.submit(old, cell_rows(old))
    assert writer.flush(20)
    writer.close()

    since = NOW - timedelta(days=7)
    sweeps = load_sweeps(engine, since)
    glm = load_sweeps(engine, since, ["glm-5"])
    cells = load_sweep_cells(engine, since, ["glm-5"])
    everything = load_sweeps(engine, NOW - timedelta(days=30))
    engine.dispose()

    assert {s["uid"] for s in sweeps} == {s["uid"] for s in recent}
    assert [s["uid"] for s in glm] == [recent[0]["uid"]]
    assert glm[0]["started_at"] == NOW
    assert glm[0]["effective_context_tokens"] == 4096 and glm[0]["effective_at_top"]
    assert glm[0]["seed"] == 2**31 - 1
    assert len(cells) == 4 and {c["sweep_uid"] for c in cells} == {recent[0]["uid"]}
    assert sorted((c["length_tokens"], c["accuracy"]) for c in cells)[-1] == (
        4096,
        None,
    )
    assert len(everything) == 3
    assert not (tmp_path / "prober.db.sweeps.spill").exists()
