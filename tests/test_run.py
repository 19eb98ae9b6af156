"""`prober run` end to end: the embedded simulator, all ten models probed,
rows in SQLite, histograms on /metrics, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

CATALOG = {
    "qwen3-coder-30b", "deepseek-v4-flash", "deepseek-coder", "deepseek-v4-pro",
    "deepseek-r1", "kimi-k2.5", "qwen3-32b", "glm-5", "hunyuan-turbo", "ga-standard",
}  # fmt: skip


RUN_OPTIONS = ("--listen", "127.0.0.1:0", "--grace", "2")


def _models_pinged(database: Path) -> set[str]:
    """Models with a stored ping: every model's first ping, not just any row
    (a context-sweep request can land before the model's ping does)."""
    if not database.exists():
        return set()
    try:
        with sqlite3.connect(database) as connection:
            rows = connection.execute(
                "SELECT DISTINCT model FROM probe_results WHERE probe = 'ping'"
            )
            return {model for (model,) in rows}
    except sqlite3.OperationalError:
        return set()


def test_run_probes_all_ten_models_and_stops_cleanly(tmp_path: Path) -> None:
    database = tmp_path / "prober.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prober",
            "run",
            *RUN_OPTIONS,
            "--database",
            str(database),
        ],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []
    reader = threading.Thread(
        target=lambda: log.extend(iter(process.stderr.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        deadline = time.monotonic() + 60
        port = None
        while time.monotonic() < deadline:
            assert process.poll() is None, "".join(log)
            match = re.search(r"serving /metrics on http://[\d.]+:(\d+)", "".join(log))
            port = port or (int(match.group(1)) if match else None)
            if port and _models_pinged(database) == CATALOG:
                break
            time.sleep(0.5)
        assert _models_pinged(database) == CATALOG, "".join(log)

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        for model in CATALOG:
            assert re.search(
                rf'prober_ttft_seconds_count{{model="{re.escape(model)}"', metrics
            )
            assert re.search(
                rf'prober_requests_total{{model="{re.escape(model)}"', metrics
            )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
        reader.join(5)
        process.stderr.close()  # type: ignore[union-attr]
    text = "".join(log)
    assert code == 0, text
    assert "stopped" in text
    assert "Traceback" not in text
    with sqlite3.connect(database) as connection:
        ok, total = connection.execute(
            "SELECT SUM(ok), COUNT(*) FROM probe_results WHERE probe = 'ping'"
        ).fetchone()
    assert total >= 10 and ok >= 1


def test_a_missing_key_stops_run_before_anything_starts(tmp_path: Path) -> None:
    environment = {
        name: value for name, value in os.environ.items() if name != "GLOBAL_API_KEY"
    }
    done = subprocess.run(
        [sys.executable, "-m", "prober", "run", "--provider", "global-api",
         *RUN_OPTIONS, "--database", str(tmp_path / "prober.db")],
        capture_output=True, text=True, timeout=60, env=environment,
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "error: provider 'global-api' needs its key in the environment variable "
        "GLOBAL_API_KEY, which is not set"
    ]
    assert not (tmp_path / "prober.db").exists()
