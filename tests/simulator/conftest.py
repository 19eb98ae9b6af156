"""Fixtures for the simulator tests: real servers on ephemeral ports."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sim_helpers import TIMEOUT, Serve

from simulator import create_app, start
from simulator.tasks import prober_tasks_dir


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
