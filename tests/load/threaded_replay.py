"""prober's replay server (tests/replay.py) on its own thread and event loop,
so gevent code can call it from the test's thread without monkey patching."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.replay import ReplayServer, Script, replay_server

_START_TIMEOUT_S = 10.0


@contextmanager
def replay_in_thread(*scripts: Script) -> Iterator[ReplayServer]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[ReplayServer] = []
    stop: asyncio.Future[None] = loop.create_future()

    async def serve() -> None:
        async with replay_server(*scripts) as server:
            servers.append(server)
            started.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        assert started.wait(_START_TIMEOUT_S), "replay server did not start"
        yield servers[0]
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(_START_TIMEOUT_S)
        loop.close()
