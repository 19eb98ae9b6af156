"""Running SQL off the event loop.

Every read the service makes (API, status page, rollups, uptime gauges)
goes through :class:`Reads`, a small pool of worker threads of its own, so
a slow query never blocks the loop that times requests, and never starves
the loop's default executor that renders ``/metrics``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine

__all__ = ["Reads"]

T = TypeVar("T")


class Reads:
    """Calls ``function(engine, *args)`` in a worker thread."""

    def __init__(self, engine: Engine, workers: int = 2) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="prober-sql")

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = functools.partial(function, self.engine, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
