"""What every benchmark shares: child servers, CPU pinning, load, tables.

The machine these run on is small (2 cores) and often shared, so every
result carries the load average seen around it, and helpers here make it
easy to pin a process to one CPU and to count its CPU time.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pin_to(cpu: int | None) -> Callable[[], None]:
    """A ``preexec_fn`` (or a call) putting a process on the ``cpu``-th CPU
    this process may use; a no-op on a single-CPU machine or for ``None``."""
    allowed = cpus()

    def pin() -> None:
        if cpu is not None and len(allowed) > 1:
            os.sched_setaffinity(0, {allowed[cpu % len(allowed)]})

    return pin


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        ),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


class ChildServer:
    """A server child process that prints ``listening on URL`` when ready."""

    def __init__(self, module: str, args: Sequence[str], cpu: int | None = None):
        command = [sys.executable, "-m", module, *args]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            preexec_fn=pin_to(cpu),
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"{module} did not start: {line!r}")
        self.url = line.removeprefix("listening on ").strip()

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def child_server(
    module: str, args: Sequence[str], cpu: int | None = None
) -> Iterator[ChildServer]:
    server = ChildServer(module, args, cpu)
    try:
        yield server
    finally:
        server.stop()


def quantiles(values: Sequence[float], qs: Sequence[float] = (50, 99)) -> list[float]:
    if not len(values):
        return [float("nan")] * len(qs)
    return [float(v) for v in np.percentile(np.asarray(values, dtype=float), qs)]


def fmt(value: float | int | str | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and np.isnan(value):
        return "-"
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def print_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    left: int = 1,
) -> None:
    """Print a plain fixed-width table: the first ``left`` columns aligned
    left, the rest (figures) right."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n## {title}\n", flush=True)
    for number, row in enumerate(cells):
        line = "  ".join(
            cell.ljust(widths[i]) if i < left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        )
        print(line.rstrip())
        if number == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


class Stopwatch:
    """Wall and own-process CPU time of a block."""

    def __enter__(self) -> Stopwatch:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self.load_before = load_average()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = time.process_time() - self._cpu
        self.load_after = load_average()
