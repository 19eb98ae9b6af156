"""Start the simulator and Locust as subprocesses, as a user would.

Locust patches the standard library with gevent as soon as it is imported,
so it never runs inside the test process.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
SMALL_CAPACITY = ROOT / "loadtests" / "profiles" / "small-capacity.toml"
_METRICS_LINE = re.compile(r"serving load-test metrics on (http://\S+/metrics)")


@contextmanager
def simulator(profiles: Path = SMALL_CAPACITY, seed: int = 11) -> Iterator[str]:
    """A simulator on a free loopback port; yields its URL."""
    command = [sys.executable, "-m", "simulator", "--port", "0", "--seed", str(seed)]
    process = subprocess.Popen(
        [*command, "--profiles", str(profiles)],
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


def locust_command(*args: str) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE),
        "--loglevel", "INFO", "--metrics-listen", "127.0.0.1:0", *args,
    ]  # fmt: skip


def start(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            args,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
            env={**os.environ, **(env or {})},
        )


def metrics_url(log: Path, deadline_s: float = 30.0) -> str:
    """The /metrics URL a Locust process logged, waiting for the line."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        match = _METRICS_LINE.search(log.read_text(errors="replace"))
        if match:
            return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no metrics line in {log}:\n{log.read_text()[-2000:]}")


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def free_port() -> int:
    """A loopback port free a moment ago (for Locust's master, which cannot
    report the port it bound)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
