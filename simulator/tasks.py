"""Recognising prober's own probe prompts.

prober starts every prompt with a nonce line, ``nonce: <hex>`` and a blank
line, so provider caches cannot make a fixed prompt look fast. The simulator
strips it and compares the rest with the ``prompt`` of each task file in
prober's ``tasks`` directory. It reads those data files only, never prober's
code: the directory is found through the import system without importing.
"""

import importlib.util
import logging
import re
import tomllib
from pathlib import Path

logger = logging.getLogger(__name__)

_NONCE = re.compile(r"\Anonce: [0-9a-fA-F]+\n\n")


def prober_tasks_dir() -> Path | None:
    """prober's task directory, or None where prober is not installed."""
    try:
        spec = importlib.util.find_spec("prober")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        tasks = Path(location) / "tasks"
        if tasks.is_dir():
            return tasks
    return None


def strip_nonce(text: str) -> str:
    return _NONCE.sub("", text, count=1)


class TaskPrompts:
    """The probe prompts the simulator knows, by their normalised text."""

    def __init__(self, prompts: dict[str, str]) -> None:
        self._by_text = {_normalise(prompt): task for task, prompt in prompts.items()}

    @classmethod
    def from_dir(cls, directory: Path | None) -> "TaskPrompts":
        """Read every ``*.toml`` task file; a missing directory gives none."""
        if directory is None or not directory.is_dir():
            logger.info("no task directory found; every prompt gets filler text")
            return cls({})
        prompts = {}
        for path in sorted(directory.glob("*.toml")):
            task = _read_task(path)
            if task is not None:
                prompts[task[0]] = task[1]
        logger.info("recognising %d task prompts from %s", len(prompts), directory)
        return cls(prompts)

    def recognise(self, user_text: str) -> str | None:
        """The task whose prompt this is, nonce or not; None for any other."""
        return self._by_text.get(_normalise(strip_nonce(user_text)))


def _read_task(path: Path) -> tuple[str, str] | None:
    try:
        with path.open("rb") as file:
            table = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        logger.warning("skipping task file %s: %s", path, exc)
        return None
    prompt = table.get("prompt")
    if not isinstance(prompt, str):
        logger.warning("skipping task file %s: no prompt string", path)
        return None
    name = table.get("name", path.stem)
    return (name if isinstance(name, str) else path.stem), prompt


def _normalise(text: str) -> str:
    return " ".join(text.split())
