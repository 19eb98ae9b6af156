"""Shared helpers for the simulator tests: real servers on ephemeral ports."""

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from simulator import Profiles, create_app, start
from simulator.profiles import parse_profiles
from simulator.tasks import prober_tasks_dir

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


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start simulators on 127.0.0.1, port 0; each call returns a base URL."""
    servings = []

    async def _serve(profiles: Any = None, seed: int = 7, **kwargs: Any) -> str:
        kwargs.setdefault("tasks_dir", prober_tasks_dir())
        serving = await start(create_app(profiles, seed, **kwargs))
        servings.append(serving)
        return serving.url

    yield _serve
    for serving in servings:
        await serving.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield session


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


@pytest.fixture
def example_banks(tmp_path: Path) -> Path:
    """A tiny answer bank for the flatten task, in tests only."""
    directory = tmp_path / "answers"
    directory.mkdir()
    (directory / "flatten.toml").write_text(
        '[[answers]]\nlabel = "weak"\nscore = 6.0\ntext = "def flatten(x): return x"\n'
        '\n[[answers]]\nlabel = "good"\nscore = 8.5\n'
        'text = "def flatten(items):\\n    return [y for x in items for y in x]"\n'
        '\n[[answers]]\nlabel = "best"\nscore = 9.5\n'
        'text = "```python\\ndef flatten(items: list) -> list:\\n    ...\\n```"\n'
    )
    return directory
