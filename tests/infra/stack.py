"""A live stack for the dashboard tests: the simulator (with faults, so
error panels have errors), a prober probing it fast and writing to a scratch
PostgreSQL database, a short headless Locust capacity test against the same
simulator and database, and a real Prometheus scraping the prober and the
Locust process every two seconds with prober's own recording and alert rules
loaded."""

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
SCRAPE_S = 2  # scrape and rule evaluation interval
# The step of range queries: Grafana's, which is never below the data
# source's minimum interval (grafana/provisioning: 15 s).
RANGE_STEP_S = 15

# Errors for MODEL: 5xx answers and errors inside the stream. Two streams
# at full speed (as in loadtests/profiles/small-capacity.toml), so the load
# test's peak is slower than its quiet stage.
SIMULATOR_FAULTS = f"""
[models.{MODEL}]
capacity = 2
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

# A short sweep, so the context panels fill within the test. MODEL is swept
# every 15 s at three depths: a sweep whose requests at a length all hit the
# faults above has no prefill line.
[probes.context]
ladder = [1024, 4096]
depths = [0.1, 0.5, 0.9]

[models.{model}]
intervals = {{ context = 15 }}
"""

LOCUSTFILE = REPO / "loadtests" / "locustfile.py"
# A 30 s peak-hour capacity test of MODEL: 1 user, then 3 at the peak, each
# asking for 40-token answers to the flatten prompt (enough chunks for an
# output speed). It stores its run and stages when it ends and exits; its
# series stay in Prometheus.
LOAD_TEST = [
    "--headless", "--shape", "peak-hour", "--duration-s", "30",
    "--base-users", "1", "--peak-multiple", "3", "--think-s", "0.5",
    "--models", MODEL, "--probes", "flatten", "--max-tokens", "40",
    "--only-summary",
]  # fmt: skip


@dataclass
class Stack:
    prometheus_url: str
    database_url: str
    started_at: float  # Unix time, when Prometheus started

    def query(self, expr: str) -> list[dict]:
        """An instant query's result now; raises ``QueryError`` if
        Prometheus refuses the expression."""
        return self._get("query", {"query": expr})

    def query_range(self, expr: str) -> list[dict]:
        """A range query's result from Prometheus's start to now."""
        window = {"start": self.started_at, "end": time.time(), "step": RANGE_STEP_S}
        return self._get("query_range", {"query": expr, **window})

    def has_data(self, expr: str, *, instant: bool) -> bool:
        """Whether ``expr`` gives at least one finite value: now for an
        instant query, at any point since the start for a range query (as a
        Grafana panel over that time range would show it)."""
        if instant:
            values = [series["value"] for series in self.query(expr)]
        else:
            values = [v for series in self.query_range(expr) for v in series["values"]]
        return any(math.isfinite(float(value)) for _, value in values)

    def _get(self, endpoint: str, params: dict[str, object]) -> list[dict]:
        url = f"{self.prometheus_url}/api/v1/{endpoint}?" + urllib.parse.urlencode(
            params
        )
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            raise QueryError(exc.read().decode(errors="replace")) from exc
        return list(body["data"]["result"])


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


def prometheus_config(workdir: Path, prober_port: int, locust_port: int) -> Path:
    """prometheus/prometheus.yml for the test: the prober and loadtest jobs
    scrape the test's prober and Locust every two seconds, rules evaluate
    every two seconds (group intervals dropped), no Alertmanager and no other
    jobs."""
    config = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    # Two seconds, not one: on a loaded two-core machine one scrape of a
    # full catalog can take most of a second, and a scrape that times out
    # marks every series stale at once.
    config["global"].update(
        scrape_interval=f"{SCRAPE_S}s",
        scrape_timeout=f"{SCRAPE_S}s",
        evaluation_interval=f"{SCRAPE_S}s",
    )
    config.pop("alerting")
    ports = {"prober": prober_port, "loadtest": locust_port}
    jobs = [j for j in config["scrape_configs"] if j["job_name"] in ports]
    for job in jobs:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
    config["scrape_configs"] = jobs
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
            PROBER_CONFIG.format(
                vantage=VANTAGE, base_url=base_url + "/v1", model=MODEL
            )
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

        locust = _Process(
            [
                sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *LOAD_TEST,
                "--host", base_url + "/v1", "--prober-config", str(config),
                "--database", database_url, "--metrics-listen", "127.0.0.1:0",
                "--loglevel", "INFO",
            ],
            workdir,
            "locust",
        )  # fmt: skip
        stack.callback(locust.stop)
        locust_port = int(
            locust.wait_for(r"serving load-test metrics on http://[\d.]+:(\d+)", 60)[1]
        )

        prometheus_port = free_port()
        started_at = time.time()
        prometheus = _Process(
            [
                shutil.which("prometheus") or "prometheus",
                f"--config.file={prometheus_config(workdir, port, locust_port)}",
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
        yield Stack(url, database_url, started_at)


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
