"""The simulator's HTTP server: the application, and serving it.

:func:`create_app` builds the aiohttp application (for tests, in process);
:func:`start` serves one on a host and port, 0 meaning any free port;
:func:`run_server` serves until SIGTERM or SIGINT (for ``python -m simulator``
and ``prober simulate``).
"""

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from simulator.admin import admin_app
from simulator.banks import BUILTIN_ANSWERS
from simulator.completions import chat_completions
from simulator.errors import api_error
from simulator.profiles import ModelProfile, Profiles, load_profiles
from simulator.runtime import SIMULATOR, Simulator

logger = logging.getLogger(__name__)

# Long-context probes send prompts of 128K-256K tokens, about 1 MB of text.
MAX_REQUEST_BYTES = 8 * 1024 * 1024
# Open streams are cut this long after a stop signal, so a stop is prompt.
SHUTDOWN_TIMEOUT_S = 1.0


def create_app(
    profiles: Profiles | str | os.PathLike[str] | None = None,
    seed: int | None = None,
    *,
    tasks_dir: Path | None = None,
    answers_dir: Path | None = BUILTIN_ANSWERS,
) -> web.Application:
    """Build the simulator's application.

    ``profiles`` is a loaded :class:`Profiles`, a path to a profile file laid
    over the built-in one, or None for the built-in profiles. Without a
    ``seed`` the run is not repeatable. ``tasks_dir`` overrides where prober's
    task prompts are read from, ``answers_dir`` where the answer banks are.
    """
    if not isinstance(profiles, Profiles):
        profiles = load_profiles(profiles)
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    simulator = Simulator(profiles, seed, tasks_dir, answers_dir)

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[SIMULATOR] = simulator
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model}", get_model)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/health", health)
    app.add_subapp("/admin", admin_app())
    app.cleanup_ctx.append(_ticking)
    logger.info("simulating %d models, seed %d", len(simulator.models), seed)
    return app


@dataclass
class Serving:
    """An application being served, and where."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()


async def start(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> Serving:
    """Serve ``app`` on ``host``:``port`` (0: a free port) until closed."""
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
    )
    await runner.setup()
    sock = _listening_socket(host, port)
    await web.SockSite(runner, sock, backlog=1024).start()
    return Serving(runner, host, sock.getsockname()[1])


def run_server(
    host: str = "127.0.0.1",
    port: int = 0,
    profiles_path: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    *,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve the simulator until SIGTERM or SIGINT; blocks.

    ``on_listening`` is called with the base URL (``http://HOST:PORT``, the
    real port when ``port`` is 0) as soon as the server accepts connections.
    Profile errors are raised before anything listens.
    """
    app = create_app(load_profiles(profiles_path), seed)
    asyncio.run(_serve_until_stopped(app, host, port, on_listening))


async def list_models(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    data = [_model_entry(sim, name, m.profile) for name, m in sim.models.items()]
    return web.json_response({"object": "list", "data": data})


async def get_model(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    name = request.match_info["model"]
    model = sim.models.get(name)
    if model is None:
        message = f"The model `{name}` does not exist or you do not have access to it."
        return api_error(
            404, message, "invalid_request_error", "model_not_found", "model"
        )
    return web.json_response(_model_entry(sim, name, model.profile))


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _model_entry(sim: Simulator, name: str, profile: ModelProfile) -> dict[str, object]:
    return {
        "id": name,
        "object": "model",
        "created": sim.created,
        "owned_by": profile.owned_by,
        "context_window": profile.context_window,
    }


async def _serve_until_stopped(
    app: web.Application,
    host: str,
    port: int,
    on_listening: Callable[[str], None] | None,
) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    serving = await start(app, host, port)
    logger.info("simulator listening on %s", serving.url)
    if on_listening is not None:
        on_listening(serving.url)
    try:
        await stopping.wait()
    finally:
        logger.info("simulator stopping")
        await serving.close()


def _listening_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def _ticking(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[SIMULATOR].tick_forever())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
