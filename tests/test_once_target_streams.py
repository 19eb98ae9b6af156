"""Every provider stream kind, end to end through `prober once --target URL
--json`: the record a user gets is the one the client test table expects."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import CliRunner

from prober.cli import main
from tests.replay import ReplayServer, Script, replay_server
from tests.stream_cases import ANY, CASES, Case

# Fields the client reports but the stored record does not carry.
_NOT_IN_RECORD = {"answer", "token_chunks"}


@contextmanager
def _server_in_thread() -> Iterator[ReplayServer]:
    """A replay server on its own event loop, so the CLI can run its own."""
    ready = threading.Event()
    stop: asyncio.Event | None = None
    holder: list[ReplayServer] = []
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with replay_server(Script([b""])) as server:
            holder.append(server)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    assert ready.wait(10), "replay server did not start"
    try:
        yield holder[0]
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with _server_in_thread() as running:
        yield running


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_once_target_json_record(server: ReplayServer, case: Case) -> None:
    server.play(case.script)
    result = CliRunner().invoke(
        main,
        [
            "once",
            "--target",
            server.base_url,
            "--model",
            "vendor/any-model",
            "--json",
            "--no-store",
        ],  # fmt: skip
    )
    # A failed probe fails the command, after printing its record.
    assert result.exit_code == (0 if case.expect.get("ok", True) else 1), result.output
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["model"] == "vendor/any-model"
    for key, wanted in case.expect.items():
        if key in _NOT_IN_RECORD:
            continue
        if wanted is ANY:
            assert record[key] is not None, key
        else:
            assert record[key] == wanted, (key, record[key], wanted)
