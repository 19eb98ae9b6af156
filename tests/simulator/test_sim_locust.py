"""Locust's FastHttpUser drives the simulator unmodified (tiny headless run)."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)

LOCUSTFILE = Path(__file__).with_name("locustfile_sim.py")


@pytest.fixture
def simulator_url() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on "), line
        yield line.removeprefix("listening on ").strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_fast_http_user_streams_without_failures(simulator_url: str) -> None:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        "8",
        "--spawn-rate",
        "8",
        "--run-time",
        "4s",
        "--stop-timeout",
        "5",
        "--host",
        simulator_url,
        "--only-summary",
        "--json",
        "--loglevel",
        "WARNING",
    ]

    run = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False
    )

    assert run.returncode == 0, run.stderr[-2000:]
    stats = {entry["name"]: entry for entry in json.loads(run.stdout)}
    assert stats["stream"]["num_requests"] > 5
    assert stats["whole"]["num_requests"] > 0
    assert sum(entry["num_failures"] for entry in stats.values()) == 0
