"""A live stack for the dashboard tests: the simulator (with faults, so
error panels have errors), a prober probing it fast and writing to a scratch
PostgreSQL database, and a real Prometheus scraping the prober every second
with prober's own recording and alert rules loaded."""

from __future__ import annotations

import json
import math
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.infra.conftest import free_port
from tests.infra.dashboards import REPO

MODEL = "deepseek-v4-flash"  # the model the faults below hit
VANTAGE = "ci"

# Errors for MODEL: 5xx answers and errors inside the stream.
SIMULATOR_FAULTS = f"""
[models.{MODEL}]
faults.server_error = {{ probability = 0.25 }}
faults.stream_error = {{ probability = 0.10, after_chunks = 2 }}
"""

PROBER_CONFIG = """
[prober]
vantage = "{vantage}"
# Large enough never to pause, so the budget panels have a finite limit.
daily_budget_usd = 1000

[providers.simulator]
base_url = "{base_url}"

[probes.ping]
interval_s = 2

[probes.flatten]
interval_s = 6

# A short sweep, so the context panels fill within the test.
[probes.context]
ladder = [1024, 4096]
depths = [0.5]
"""


@dataclass
class Stack:
    prometheus_url: str
    database_url: str

    def query(self, expr: str) -> list[dict]:
        """An instant query's result; raises ``QueryError`` if Prometheus
        refuses the expression."""
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr}
        )
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            raise QueryError(exc.read().decode(errors="replace")) from exc
        return body["data"]["result"]

    def has_data(self, expr: str) -> bool:
        """Whether ``expr`` returns at least one finite value now."""
        return any(
            math.isfinite(float(series["value"][1])) for series in self.query(expr)
        )


class QueryError(Exception):
    pass


class _Process:
    """A child process whose output is collected by a thread."""

    def __init__(self, command: list[str], cwd: Path, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, ""):
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = re.search(pattern, "".join(self.lines))
            if match:
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: no {pattern!r}:\n{self.output()}")

    def output(self) -> str:
        return "".join(self.lines[-60:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def prometheus_config(workdir: Path, prober_port: int) -> Path:
    """prometheus/prometheus.yml for the test: the prober job scrapes the
    test's prober every second, rules evaluate every second (group
    intervals dropped), no Alertmanager and no other jobs."""
    config = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    # Two seconds, not one: on a loaded two-core machine one scrape of a
    # full catalog can take most of a second, and a scrape that times out
    # marks every series stale at once.
    config["global"].update(
        scrape_interval="2s", scrape_timeout="2s", evaluation_interval="2s"
    )
    config.pop("alerting")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "prober")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{prober_port}"]}]
    config["scrape_configs"] = [job]
    rule_files = []
    for name in config["rule_files"]:
        rules = yaml.safe_load((REPO / "prometheus" / name).read_text())
        for group in rules["groups"]:
            group.pop("interval", None)
        path = workdir / Path(name).name
        path.write_text(yaml.safe_dump(rules))
        rule_files.append(str(path))
    config["rule_files"] = rule_files
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def running_stack(workdir: Path, database_url: str) -> Iterator[Stack]:
    with ExitStack() as stack:
        faults = workdir / "faults.toml"
        faults.write_text(SIMULATOR_FAULTS)
        simulator = _Process(
            [
                sys.executable, "-m", "simulator", "--port", "0",
                "--profiles", str(faults), "--seed", "7", "--log-level", "WARNING",
            ],
            workdir,
            "simulator",
        )  # fmt: skip
        stack.callback(simulator.stop)
        base_url = simulator.wait_for(r"listening on (http://\S+)", 30).group(1)

        config = workdir / "prober.toml"
        config.write_text(
            PROBER_CONFIG.format(vantage=VANTAGE, base_url=base_url + "/v1")
        )
        prober = _Process(
            [
                sys.executable, "-m", "prober", "run", "--config", str(config),
                "--database", database_url, "--listen", "127.0.0.1:0",
                "--grace", "1",
            ],
            workdir,
            "prober",
        )  # fmt: skip
        stack.callback(prober.stop)
        port = int(prober.wait_for(r"serving /metrics on http://[\d.]+:(\d+)", 60)[1])

        prometheus_port = free_port()
        prometheus = _Process(
            [
                shutil.which("prometheus") or "prometheus",
                f"--config.file={prometheus_config(workdir, port)}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
                "--log.level=warn",
            ],
            workdir,
            "prometheus",
        )
        stack.callback(prometheus.stop)
        url = f"http://127.0.0.1:{prometheus_port}"
        _wait_ready(url + "/-/ready", prometheus, 60)
        yield Stack(url, database_url)


def _wait_ready(url: str, process: _Process, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if process.process.poll() is not None:
                break
            time.sleep(0.2)
    raise RuntimeError(f"{process.name} not ready:\n{process.output()}")
