"""An OpenAI-compatible server that knows the true timing of what it sends.

``python -m benchmarks.truth_server --port 0`` prints one line,
``listening on http://HOST:PORT``, and serves until SIGTERM:

``POST /v1/chat/completions`` (streaming)
    A role-only first chunk at once (as OpenAI and vLLM send it), then, after
    a time to first token drawn per request, ``--tokens`` chunks of one word
    each at ``--gap-ms`` intervals, then a finish chunk, a ``usage`` chunk and
    ``[DONE]``. For every response it records, with ``perf_counter_ns``:

    * ``arrival_ns``: when the first byte of the request reached the server
      (stamped in the protocol's ``data_received``, before HTTP parsing);
    * ``token_ns``: the moment just before each token chunk was handed to
      the socket.

    In ``--flood`` mode it instead sends a pre-encoded stream of ``--tokens``
    chunks as fast as the socket takes them, with no timing records: the
    source for client-throughput measurement.

``GET /truth``
    The records of every timed response since the last ``DELETE /truth``.

``GET /lag``
    This server's own event-loop lag since the last ``DELETE /truth``
    (p50, p99, max in ms): when the server is late, so are its arrival
    stamps, and every tool's error grows alike.

``GET /clock``
    This process's ``perf_counter_ns``, to check that the client's clock and
    the server's are the same clock (on Linux both read CLOCK_MONOTONIC,
    which is system-wide).

A request is tagged for matching with the client's own record by a
``bench-id: N`` line in its prompt, or else by an ``X-Request-ID`` header;
untagged requests are numbered by arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

_TAG = re.compile(r"bench-id: (\S+)")
_WORDS = [f" w{n}" for n in range(100)]


@dataclass(slots=True)
class Truth:
    """What the server knows about one response."""

    seq: int
    tag: str
    arrival_ns: int
    token_ns: list[int] = field(default_factory=list)
    end_ns: int = 0

    @property
    def ttft_s(self) -> float:
        return (self.token_ns[0] - self.arrival_ns) / 1e9

    @property
    def itl_s(self) -> float:
        span = self.token_ns[-1] - self.token_ns[0]
        return span / 1e9 / (len(self.token_ns) - 1)


@dataclass(frozen=True, slots=True)
class Shape:
    """The timing every timed response follows."""

    tokens: int = 32
    gap_s: float = 0.02
    ttft_min_s: float = 0.05
    ttft_max_s: float = 0.15
    flood: bool = False


class _StampingHandler(RequestHandler):
    """aiohttp's protocol, noting when a request's first bytes arrive."""

    arrival_ns: int | None = None

    def data_received(self, data: bytes) -> None:
        if self.arrival_ns is None:
            self.arrival_ns = time.perf_counter_ns()
        super().data_received(data)


class _StampingServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _StampingHandler(self, loop=self._loop, **self._kwargs)


class TruthServer:
    """Routes requests and keeps the truth records."""

    def __init__(self, shape: Shape, seed: int = 1) -> None:
        self.shape = shape
        self.records: list[Truth] = []
        self.lags: list[float] = []
        self._random = random.Random(seed)
        self._seq = 0
        self._flood_body = _encode_stream(shape.tokens, "flood") if shape.flood else b""

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        protocol = request.protocol
        assert isinstance(protocol, _StampingHandler)
        arrival_ns = protocol.arrival_ns or time.perf_counter_ns()
        try:
            if request.path.endswith("/chat/completions"):
                return await self._complete(request, arrival_ns)
            if request.path == "/truth":
                return self._truth(request)
            if request.path == "/lag":
                return web.json_response(_spread(self.lags))
            if request.path == "/clock":
                return web.Response(text=str(time.perf_counter_ns()))
            if request.path == "/health":
                return web.Response(text="ok")
            if request.path.endswith("/models"):
                return web.json_response({"object": "list", "data": [_MODEL]})
            return web.Response(status=404)
        finally:
            # Cleared only after the body was read, so the next request on
            # this keep-alive connection gets its own arrival stamp.
            protocol.arrival_ns = None

    def _truth(self, request: web.BaseRequest) -> web.Response:
        if request.method == "DELETE":
            self.records.clear()
            self.lags.clear()
            return web.Response(status=204)
        return web.json_response([asdict(record) for record in self.records])

    async def _complete(
        self, request: web.BaseRequest, arrival_ns: int
    ) -> web.StreamResponse:
        body = await request.json()
        self._seq += 1
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        if self.shape.flood:
            await response.write(self._flood_body)
        else:
            tag = _tag_of(body, request) or str(self._seq)
            record = Truth(self._seq, tag, arrival_ns)
            self.records.append(record)
            await self._stream(response, record, body.get("model", "truth"))
        await response.write_eof()
        return response

    async def _stream(
        self, response: web.StreamResponse, record: Truth, model: str
    ) -> None:
        shape = self.shape
        chunk_id = f"chatcmpl-truth-{record.seq}"
        await response.write(_event(_chunk(chunk_id, model, {"role": "assistant"})))
        loop = asyncio.get_running_loop()
        ttft_s = self._random.uniform(shape.ttft_min_s, shape.ttft_max_s)
        due = loop.time() - (time.perf_counter_ns() - record.arrival_ns) / 1e9
        due += ttft_s
        for index in range(shape.tokens):
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            word = _WORDS[index % len(_WORDS)]
            data = _event(_chunk(chunk_id, model, {"content": word}))
            record.token_ns.append(time.perf_counter_ns())
            await response.write(data)
            due += shape.gap_s
        await response.write(_ending(chunk_id, model, shape.tokens))
        record.end_ns = time.perf_counter_ns()

    async def watch_lag(self, tick_s: float = 0.005) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(tick_s)
            self.lags.append(loop.time() - before - tick_s)


def _spread(lags: list[float]) -> dict[str, float]:
    if not lags:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(lags)
    last = len(ordered) - 1
    return {
        "p50_ms": ordered[int(0.50 * last)] * 1e3,
        "p99_ms": ordered[int(0.99 * last)] * 1e3,
        "max_ms": ordered[-1] * 1e3,
    }


_MODEL = {"id": "truth", "object": "model", "created": 0, "owned_by": "benchmarks"}


def _tag_of(body: dict[str, Any], request: web.BaseRequest) -> str | None:
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            found = _TAG.search(content)
            if found:
                return found.group(1)
    return request.headers.get("X-Request-ID")


def _chunk(
    chunk_id: str, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "system_fingerprint": "fp_truth",
        "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        ],
    }


def _event(payload: dict[str, Any] | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {text}\n\n".encode()


def _ending(chunk_id: str, model: str, tokens: int) -> bytes:
    finish = _chunk(chunk_id, model, {}, finish="stop")
    usage = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "choices": [],
        "usage": {
            "prompt_tokens": 16,
            "completion_tokens": tokens,
            "total_tokens": 16 + tokens,
        },
    }
    return _event(finish) + _event(usage) + _event("[DONE]")


def _encode_stream(tokens: int, model: str) -> bytes:
    """A whole streamed completion, encoded once, for flood mode."""
    chunk_id = "chatcmpl-flood"
    parts = [_event(_chunk(chunk_id, model, {"role": "assistant"}))]
    for index in range(tokens):
        word = _WORDS[index % len(_WORDS)]
        parts.append(_event(_chunk(chunk_id, model, {"content": word})))
    parts.append(_ending(chunk_id, model, tokens))
    return b"".join(parts)


async def serve(host: str, port: int, shape: Shape, seed: int) -> None:
    truth = TruthServer(shape, seed)
    runner = web.ServerRunner(_StampingServer(truth.handle), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    if not shape.flood:
        watcher = asyncio.create_task(truth.watch_lag())
    bound = runner.addresses[0]
    print(f"listening on http://{bound[0]}:{bound[1]}", flush=True)  # noqa: T201

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if not shape.flood:
        watcher.cancel()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.truth_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=32, help="token chunks")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="chunk interval")
    parser.add_argument(
        "--ttft-ms",
        default="50:150",
        help="time to first token, drawn uniformly from MIN:MAX",
    )
    parser.add_argument("--flood", action="store_true", help="send as fast as possible")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    low, _, high = args.ttft_ms.partition(":")
    shape = Shape(
        tokens=args.tokens,
        gap_s=args.gap_ms / 1000,
        ttft_min_s=float(low) / 1000,
        ttft_max_s=float(high or low) / 1000,
        flood=args.flood,
    )
    asyncio.run(serve(args.host, args.port, shape, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
