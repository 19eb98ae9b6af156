"""Real processes for the process-life tests: the simulator and `prober run`,
each with its log in a file, and every wait under a deadline."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 30.0


def until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Ask ``check`` until it returns something true, within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.1)


def http(method: str, url: str, body: dict[str, Any] | None = None) -> str:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        text: str = response.read().decode()
        return text


def metric(text: str, name: str) -> float:
    """The sum of every series of ``name`` in a Prometheus exposition."""
    values = re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)
    return sum(float(v) for v in values)


class SimulatorProcess:
    """``python -m simulator`` on a free loopback port."""

    def __init__(self, profiles: Path, log: Path) -> None:
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--port", "0", "--seed", "3"]
            + ["--profiles", str(profiles)],
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        found = re.search(r"listening on (http://\S+)", line)
        assert found, f"simulator did not start: {line!r}"
        self.url = found.group(1)

    def set_fault(self, kind: str, settings: dict[str, Any], model: str = "*") -> None:
        http("PUT", f"{self.url}/admin/faults/{model}/{kind}", settings)

    def clear_faults(self) -> None:
        http("DELETE", f"{self.url}/admin/faults/*/*")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._log.close()


class ProberProcess:
    """``prober run`` with its stderr in ``log``."""

    def __init__(
        self, config: Path, database: Path, log: Path, grace_s: float = 10.0
    ) -> None:
        self.log = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prober", "run", "--config", str(config)]
            + ["--database", str(database), "--listen", "127.0.0.1:0"]
            + ["--grace", str(grace_s)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_serving(self) -> str:
        def serving() -> str | None:
            assert self.process.poll() is None, self.text()
            found = re.search(r"serving /metrics on (http://\S+)", self.text())
            return found.group(1) if found else None

        self.url = until(serving, START_TIMEOUT_S, "prober to serve")
        return self.url

    def metrics(self) -> str:
        return http("GET", f"{self.url}/metrics")

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout_s: float) -> int:
        code = self.process.wait(timeout=timeout_s)
        self._log.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()
