"""Helpers for the simulator tests: a fast test model, request bodies, SSE
reading. Fixtures live in conftest.py; this module has a name of its own so
that it cannot be mistaken for another directory's conftest."""

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from simulator import Profiles
from simulator.profiles import parse_profiles

# A model with no randomness and little latency, for tests that time things.
FAST: dict[str, Any] = {
    "capacity": 100,
    "prefill_tokens_per_s": 1e9,
    "ttft": {"median_s": 0.02, "sigma": 0.0},
    "decode": {"median_tokens_per_s": 1000.0, "sigma": 0.0, "chunk_jitter": 0.0},
}

TIMEOUT = aiohttp.ClientTimeout(total=20, sock_connect=5)


def profiles_of(models: dict[str, dict[str, Any]], **top: Any) -> Profiles:
    """Profiles holding only the given models (no built-in ones)."""
    return parse_profiles({"models": models, **top}, "<test>")


def chat_body(model: str, text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


Serve = Callable[..., Awaitable[str]]


class Stream:
    """A streamed answer as it arrived: SSE events with their arrival times."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.comments: list[bytes] = []
        self.events: list[tuple[float, bytes]] = []
        self.started = time.perf_counter()

    @property
    def data(self) -> list[bytes]:
        return [payload for _, payload in self.events]

    def json_chunks(self) -> list[dict[str, Any]]:
        return [json.loads(d) for d in self.data if d != b"[DONE]"]

    def text_times(self) -> list[float]:
        """Arrival times of events that carry generated text."""
        return [
            at
            for at, payload in self.events
            if (b'"content":"' in payload and b'"role"' not in payload)
            or b'"reasoning_content":"' in payload
        ]

    def content(self) -> str:
        return "".join(
            c["choices"][0]["delta"].get("content") or ""
            for c in self.json_chunks()
            if c.get("choices")
        )


async def read_stream(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], **kwargs: Any
) -> Stream:
    """POST a streaming request and record every event as it arrives."""
    stream = Stream()
    async with http.post(f"{url}/v1/chat/completions", json=body, **kwargs) as resp:
        stream.status = resp.status
        stream.headers = dict(resp.headers)
        buffer = b""
        async for data in resp.content.iter_any():
            at = time.perf_counter() - stream.started
            buffer += data
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                if event.startswith(b":"):
                    stream.comments.append(event)
                elif event.startswith(b"data: "):
                    stream.events.append((at, event[6:]))
    return stream
