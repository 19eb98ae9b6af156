"""The grading pool survives the Ctrl-C meant for the service: a terminal
signals the whole process group, grading processes included."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from prober.grader import GradingPool
from prober.grading import GradingSettings

pytestmark = pytest.mark.timeout(60)

ANSWER = """```python
def flatten(items):
    out = []
    for item in items:
        if isinstance(item, list):
            out.extend(flatten(item))
        else:
            out.append(item)
    return out
```"""


def _ignores_sigint(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("SigIgn:"))
    return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))


async def test_grading_processes_outlive_an_interrupt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = GradingPool(GradingSettings(execute=False), workers=2)
    try:
        await pool.start()
        workers = list(pool._pool._processes)  # type: ignore[union-attr]
        assert len(workers) == 2
        first = await pool.grade("flatten", ANSWER)
        assert first is not None

        async with asyncio.timeout(10):  # until every worker has initialised
            while True:
                if all(_ignores_sigint(pid) for pid in workers):
                    break
                await asyncio.sleep(0.05)
        for pid in workers:
            os.kill(pid, signal.SIGINT)
        with caplog.at_level(logging.WARNING, logger="prober.grader"):
            second = await pool.grade("flatten", ANSWER)

        assert second is not None
        assert second.quality == first.quality
        assert not caplog.records, [r.getMessage() for r in caplog.records]
        assert list(pool._pool._processes) == workers  # type: ignore[union-attr]
        assert not _ignores_sigint(os.getpid())
    finally:
        pool.close()
