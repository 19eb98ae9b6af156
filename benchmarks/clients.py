"""The streaming clients the benchmarks compare, behind one small interface.

Each client streams one chat completion and returns a :class:`Sample`: the
time to first token and the inter-token latency it measured, and how many
token-bearing chunks it saw. All three follow the same definitions (the
first chunk with generated text counts, never the role-only chunk; ITL is
the span of token chunks over the usage token count minus one), so their
differences are differences of timing, not of definitions.

* ``prober``: :class:`prober.client.StreamingClient`, as the service uses it.
* ``openai``: the official SDK, timed the way a careful user would: the clock
  read just before ``create()`` and again as each chunk is yielded.
* ``aiohttp``: a bare aiohttp loop, no framework: split lines, ``json.loads``
  each ``data:`` line, stamp each line; the least work that still times and
  decodes a stream, and so the floor this stack allows.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import aiohttp

from prober.client import ChatRequest, Endpoint, StreamingClient, Timeouts

__all__ = ["CLIENTS", "Sample", "StreamClient", "clock_check", "make_client"]

MODEL = "truth"
_TIMEOUTS = Timeouts(connect_s=30, first_token_s=120, stall_s=60, total_s=600)


@dataclass(slots=True)
class Sample:
    tag: str
    ok: bool
    ttft_s: float | None = None
    itl_s: float | None = None
    chunks: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class StreamClient(Protocol):
    async def __aenter__(self) -> StreamClient: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def stream(self, tag: str, max_tokens: int) -> Sample: ...


def prompt(tag: str) -> str:
    return f"bench-id: {tag}\nWrite a haiku about latency."


class ProberClient:
    def __init__(self, base_url: str) -> None:
        self._endpoint = Endpoint(base_url, "bench")
        self._client = StreamingClient()

    async def __aenter__(self) -> ProberClient:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.close()

    async def stream(self, tag: str, max_tokens: int) -> Sample:
        request = ChatRequest(model=MODEL, prompt=prompt(tag), max_tokens=max_tokens)
        m = await self._client.complete(self._endpoint, request, _TIMEOUTS)
        return Sample(tag, m.ok, m.ttft_s, m.itl_s, m.token_chunks, m.error_message)


class OpenAIClient:
    def __init__(self, base_url: str) -> None:
        import openai

        # Room for 200+ concurrent streams kept alive; no retries, so a
        # failure shows. Newer SDKs ship httpx as ``httpx2``.
        try:
            import httpx2 as httpx  # type: ignore[import-not-found]
        except ImportError:
            import httpx
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key="bench",
            max_retries=0,
            timeout=600,
            http_client=openai.DefaultAsyncHttpxClient(limits=limits),
        )

    async def __aenter__(self) -> OpenAIClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.close()

    async def stream(self, tag: str, max_tokens: int) -> Sample:
        first = last = None
        chunks = 0
        tokens = None
        started = time.perf_counter_ns()
        stream = await self._client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": prompt(tag)}],
            max_tokens=max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            now = time.perf_counter_ns()
            if chunk.choices and chunk.choices[0].delta.content:
                first = first or now
                last = now
                chunks += 1
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
        return _sample(tag, started, first, last, chunks, tokens)


class AiohttpClient:
    def __init__(self, base_url: str) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AiohttpClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=600),
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def stream(self, tag: str, max_tokens: int) -> Sample:
        assert self._session is not None
        payload = {
            "model": MODEL,
            "messages": [{"role": "user", "content": prompt(tag)}],
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        first = last = None
        chunks = 0
        tokens = None
        started = time.perf_counter_ns()
        async with self._session.post(self._url, json=payload) as response:
            async for line in response.content:
                now = time.perf_counter_ns()
                if not line.startswith(b"data: "):
                    continue
                data = line[6:].rstrip()
                if data == b"[DONE]":
                    break
                chunk = json.loads(data)
                choices = chunk.get("choices")
                if choices and choices[0].get("delta", {}).get("content"):
                    first = first or now
                    last = now
                    chunks += 1
                usage = chunk.get("usage")
                if usage:
                    tokens = usage.get("completion_tokens")
        return _sample(tag, started, first, last, chunks, tokens)


CLIENTS: dict[str, type[ProberClient | OpenAIClient | AiohttpClient]] = {
    "prober": ProberClient,
    "openai": OpenAIClient,
    "aiohttp": AiohttpClient,
}


def make_client(name: str, base_url: str) -> StreamClient:
    client: StreamClient = CLIENTS[name](base_url)
    return client


def _sample(
    tag: str,
    started: int,
    first: int | None,
    last: int | None,
    chunks: int,
    tokens: int | None,
) -> Sample:
    if first is None or last is None:
        return Sample(tag, False, error="no token chunks")
    itl = None
    if tokens and tokens > 1 and chunks > 1:
        itl = (last - first) / 1e9 / (tokens - 1)
    return Sample(tag, True, (first - started) / 1e9, itl, chunks)


async def clock_check(server_url: str, rounds: int = 50) -> dict[str, float]:
    """Check that this process and the server read the same monotonic clock.

    Each round reads the clock, asks the server for its ``perf_counter_ns``,
    and reads the clock again: with one shared clock the server's reading
    always falls between the two. Returns the round-trip time and the
    largest amount by which a server reading fell outside (0 when shared).
    """
    outside_ns = 0
    round_trips = []
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            before = time.perf_counter_ns()
            async with session.get(server_url + "/clock") as response:
                server_ns = int(await response.text())
            after = time.perf_counter_ns()
            round_trips.append(after - before)
            outside_ns = max(outside_ns, before - server_ns, server_ns - after)
    round_trips.sort()
    return {
        "rounds": rounds,
        "round_trip_median_us": round_trips[len(round_trips) // 2] / 1e3,
        "largest_outside_us": max(0, outside_ns) / 1e3,
    }
