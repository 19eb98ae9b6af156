"""The embedded simulator: a child process prober starts when no real
provider is configured, so `prober run` works offline out of the box."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import re
import signal
import sys
from pathlib import Path

from prober.catalog import SIMULATOR, Catalog
from prober.exceptions import SetupError

__all__ = ["EmbeddedSimulator", "attach_simulator"]

log = logging.getLogger(__name__)

_LISTENING = re.compile(r"listening on (http://\S+)")
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 5.0
_PR_SET_PDEATHSIG = 1


class EmbeddedSimulator:
    """``python -m simulator`` on a free loopback port, for as long as needed."""

    def __init__(self, profiles: Path | None = None, seed: int | None = None) -> None:
        self._profiles = profiles
        self._seed = seed
        self._process: asyncio.subprocess.Process | None = None
        self.base_url: str | None = None

    async def start(self) -> str:
        """Start the child and return its OpenAI base URL (``.../v1``)."""
        command = [
            sys.executable,
            "-m",
            "simulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ]
        if self._profiles is not None:
            command += ["--profiles", str(self._profiles)]
        if self._seed is not None:
            command += ["--seed", str(self._seed)]
        # Its own session: Ctrl-C in a terminal reaches the whole process
        # group, and the simulator must outlive prober's draining of probes
        # in flight. It still dies with prober (see _die_with_parent).
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            line = await asyncio.wait_for(
                self._process.stdout.readline(),  # type: ignore[union-attr]
                _START_TIMEOUT_S,
            )
        except TimeoutError:
            await self.stop()
            raise SetupError(
                "the embedded simulator did not start within 30 s"
            ) from None
        match = _LISTENING.search(line.decode(errors="replace"))
        if match is None:
            await self.stop()
            raise SetupError(f"the embedded simulator failed to start: {line!r}")
        self.base_url = match.group(1).rstrip("/") + "/v1"
        log.info(
            "embedded simulator serving %s (pid %d)", self.base_url, self._process.pid
        )
        return self.base_url

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()


def _die_with_parent() -> None:
    """Ask Linux to send the child SIGTERM when prober exits, however it
    exits (SIGKILL included); elsewhere the child is stopped by :meth:`stop`."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


async def attach_simulator(
    catalog: Catalog,
) -> tuple[Catalog, EmbeddedSimulator | None]:
    """Start the embedded simulator if a model uses it and no URL is set."""
    in_use = {model.provider for model in catalog.models.values()}
    if SIMULATOR not in in_use or catalog.providers[SIMULATOR].base_url:
        return catalog, None
    simulator = EmbeddedSimulator()
    base_url = await simulator.start()
    return catalog.with_base_url(SIMULATOR, base_url), simulator
