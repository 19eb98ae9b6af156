"""Grading probe answers in worker processes.

Grading extracts code, runs static checks and waits on sandboxed runs; the
checks are CPU work that would hold the interpreter lock and delay the event
loop timing other requests, so they run in separate processes, never in a
thread of the measuring process. Even handing an answer over can wait: the
first one starts the forkserver and each new worker is forked through it,
tens to hundreds of milliseconds, so submitting happens in a thread too.
The service starts the pool before probing (:meth:`GradingPool.start`) so
that grading processes run, ignoring the terminal's Ctrl-C, before the
first answer comes.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from prober.config import GradingConfig
from prober.grading import TASKS, Grade, GradingSettings, SandboxMode, grade
from prober.grading.settings import MIB

__all__ = ["GradingPool", "grading_pool", "grading_settings"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class GradingPool:
    """A small pool of grading processes, created on first use."""

    def __init__(
        self, settings: GradingSettings | None = None, workers: int = 2
    ) -> None:
        self._settings = settings or GradingSettings()
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    async def start(self) -> None:
        """Start the fork server and the workers now rather than on the first
        answer (see :func:`_ignore_interrupts`); returns once one has run."""
        futures = [
            await asyncio.to_thread(self._submit, _ready) for _ in range(self._workers)
        ]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))

    @staticmethod
    def grades(probe: str) -> bool:
        """True when ``probe``'s answers are graded."""
        return probe in TASKS

    async def grade(self, task: str, answer: str) -> Grade | None:
        """Grade ``answer``; ``None`` when grading itself failed (logged)."""
        for attempt in (1, 2):
            try:
                future = await asyncio.to_thread(
                    self._submit, grade, task, answer, self._settings
                )
                return await asyncio.wrap_future(future)
            except BrokenProcessPool:
                # A worker died (killed from outside, out of memory): start a
                # fresh pool once rather than lose every later grade.
                log.warning(
                    "grading worker died; restarting the pool (try %d)", attempt
                )
                await asyncio.to_thread(self._discard)
            except Exception:
                log.exception("grading %s failed", task)
                return None
        return None

    def close(self) -> None:
        self._discard()

    def _submit(self, function: Callable[..., _T], *args: Any) -> Future[_T]:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(
                    self._workers, mp_context=context, initializer=_ignore_interrupts
                )
            return self._pool.submit(function, *args)

    def _discard(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


def _ignore_interrupts() -> None:
    """Ctrl-C in a terminal signals the whole process group. The service
    stops on it by itself and still wants the grades of the probes it drains;
    a grading process would instead die of a KeyboardInterrupt and break the
    pool. The fork server ignores SIGINT once it runs, but not while it
    starts, which is why the service starts the pool before probing."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ready() -> None:
    """Nothing: a task whose submission starts a worker."""


def grading_settings(config: GradingConfig) -> GradingSettings:
    """The grader's settings from the validated ``[grading]`` table."""
    return GradingSettings(
        execute=config.execute,
        sandbox=SandboxMode(config.sandbox),
        wall_timeout_s=config.wall_timeout_s,
        cpu_limit_s=config.cpu_limit_s,
        memory_limit_bytes=config.memory_limit_mib * MIB,
        max_processes=config.max_processes,
        max_file_bytes=config.max_file_mib * MIB,
        typecheck=config.typecheck,
    )


def grading_pool(config: GradingConfig) -> GradingPool:
    return GradingPool(grading_settings(config), config.workers)
