"""A real HTTP server that replays scripted responses byte for byte.

A script is a status, headers and a list of steps: ``bytes`` are written and
flushed as they are, a ``float`` sleeps that many seconds, ``CLOSE`` drops
the connection mid-response. Tests use it to show the client exactly what a
provider sends, including the ways providers misbehave.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CLOSE = "close"

Step = bytes | float | str


@dataclass
class Script:
    steps: list[Step]
    status: int = 200
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)
    header_delay_s: float = 0.0


@dataclass
class ReplayServer:
    url: str
    scripts: list[Script]
    requests: list[dict[str, Any]]

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def play(self, *scripts: Script) -> None:
        self.scripts[:] = list(scripts)


STATE = web.AppKey("state", ReplayServer)


async def _serve(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    body = await request.read()
    state.requests.append(
        {"headers": dict(request.headers), "body": json.loads(body or b"{}")}
    )
    script = state.scripts.pop(0) if len(state.scripts) > 1 else state.scripts[0]
    if script.header_delay_s:
        await asyncio.sleep(script.header_delay_s)
    response = web.StreamResponse(status=script.status, headers=script.headers)
    response.content_type = script.content_type
    await response.prepare(request)
    for step in script.steps:
        if isinstance(step, float):
            await asyncio.sleep(step)
        elif step == CLOSE:
            assert request.transport is not None
            request.transport.close()
            return response
        else:
            assert isinstance(step, bytes)
            await response.write(step)
    await response.write_eof()
    return response


@asynccontextmanager
async def replay_server(*scripts: Script) -> AsyncIterator[ReplayServer]:
    app = web.Application()
    state = ReplayServer("", list(scripts), [])
    app[STATE] = state
    app.router.add_post("/v1/chat/completions", _serve)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.url = f"http://{host}:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


def sse(*payloads: Any, done: bool = True, eol: bytes = b"\n") -> bytes:
    """Frame each payload (dict as JSON, str as is) as one data event."""
    out = bytearray()
    for payload in payloads:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        out += b"data: " + text.encode() + eol + eol
    if done:
        out += b"data: [DONE]" + eol + eol
    return bytes(out)


def chunk(
    content: str | None = None,
    *,
    role: str | None = None,
    reasoning_content: str | None = None,
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
    model: str = "test-model",
    **delta_extra: Any,
) -> dict[str, Any]:
    """One chat.completion.chunk object."""
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if reasoning_content is not None:
        delta["reasoning_content"] = reasoning_content
    delta.update(delta_extra)
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def usage_chunk(prompt: int, completion: int, **extra: Any) -> dict[str, Any]:
    """The final chunk OpenAI sends with include_usage: empty choices."""
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    usage.update(extra)
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "test-model",
        "choices": [],
        "usage": usage,
    }
