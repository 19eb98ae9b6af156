"""`prober once` against the embedded simulator: graded coding probes, JSON
output, results stored, and clear errors for bad selections."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

PARTS = ("correctness", "code_quality", "documentation", "edge_cases")
CODING = ["flatten", "race-condition", "dijkstra", "code-review", "express-endpoint"]


def _once(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prober", "once", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def test_every_coding_task_is_graded_and_stored(tmp_path: Path) -> None:
    probes = [arg for task in CODING for arg in ("--probe", task)]
    done = _once(tmp_path, "--model", "deepseek-v4-flash", *probes, "--json")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["probe"] for r in records] == CODING
    for record in records:
        assert record["ok"], record
        assert 0 <= record["quality"] <= 10
        parts = [record[f"grade_{part}"] for part in PARTS]
        assert abs(sum(parts) / 4 - record["quality"]) < 0.05
        assert record["grade_method"] in ("executed", "static")
        assert record["cost_usd"] > 0
    assert (
        next(r for r in records if r["probe"] == "code-review")["grade_method"]
        == "static"
    )

    with sqlite3.connect(tmp_path / "prober.db") as connection:
        stored = connection.execute(
            "SELECT probe, quality FROM probe_results ORDER BY probe"
        ).fetchall()
    assert sorted(stored) == sorted((r["probe"], r["quality"]) for r in records)


def test_ping_is_not_graded(tmp_path: Path) -> None:
    done = _once(tmp_path, "--model", "glm-5", "--json", "--no-store")
    assert done.returncode == 0, done.stderr
    (record,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert record["probe"] == "ping" and record["ok"]
    assert record["quality"] is None and record["grade_method"] is None
    assert not (tmp_path / "prober.db").exists()


def test_unknown_model_and_probe_are_named(tmp_path: Path) -> None:
    done = _once(tmp_path, "--model", "gpt-17")
    assert done.returncode == 2
    assert "gpt-17" in done.stderr and "--model" in done.stderr
    done = _once(tmp_path, "--probe", "fizzbuzz")
    assert done.returncode == 2
    assert "fizzbuzz" in done.stderr and "known:" in done.stderr


def test_grade_command_explains_a_score(tmp_path: Path) -> None:
    answer = tmp_path / "answer.md"
    answer.write_text(
        "```python\ndef flatten(items):\n    out = []\n    for x in items:\n"
        "        if isinstance(x, list):\n            out.extend(flatten(x))\n"
        "        else:\n            out.append(x)\n    return out\n```\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "prober",
            "grade",
            "--task",
            "flatten",
            "--answer-file",
            str(answer),
            "--json",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    grade = json.loads(done.stdout)
    assert grade["method"] == "executed"
    # Recursion fails past the recursion limit and nothing is documented.
    assert "deep-nesting" in grade["failed_checks"]
    assert 2 < grade["quality"] < 8


def test_the_table_shows_a_ping_s_cost_to_its_last_digit(tmp_path: Path) -> None:
    # A ping's few tokens at $0.25 per million cost well under a millionth
    # of a dollar; the table must not round that to zero.
    done = _once(tmp_path, "--model", "deepseek-v4-flash", "--no-store")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if "deepseek-v4-flash" in line)
    cost = float(row.replace("│", " ").split()[-1])
    assert 0 < cost < 1e-5
