"""Who may reach `prober run`: loopback unless allowed, the API token, and
a clear error when the port is taken. The CLI runs as a real process."""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from prober import exposure
from prober.config import load_config
from prober.exceptions import ConfigError, SetupError
from prober.exposure import (
    api_token_from_env,
    check_listen,
    is_loopback_host,
    token_matches,
)
from prober.service import Service, ServiceOptions, parse_listen
from tests.catalogs import catalog_with_tasks

pytestmark = pytest.mark.timeout(60)

TOKEN = "tok-" + uuid.uuid4().hex
GUARDED = ("/api/v1/models", "/api/v1/openapi.json", "/", "/no-such-page")
OPEN = ("/metrics", "/healthz")
_SERVING = re.compile(rb"serving /metrics on http://\S+:(\d+)")


def _config(tmp_path: Path, **service: object) -> Path:
    """A config probing one model of the catalog, with ``[prober]`` keys."""
    models = sorted(load_config().models)
    lines = ["[prober]"] + [f"{k} = {_toml(v)}" for k, v in service.items()]
    lines += [f'[models."{m}"]\nenabled = false' for m in models[1:]]
    path = tmp_path / "prober.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else f'"{value}"'


def _prober(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prober", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )


def test_listen_off_loopback_needs_allow_remote(tmp_path: Path) -> None:
    database = tmp_path / "prober.db"
    result = _prober(
        tmp_path, "run", "--listen", "0.0.0.0:0", "--database", str(database)
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "0.0.0.0:0" in lines[0] and "--allow-remote" in lines[0]
    assert not database.exists(), "refused only after setting up"


def test_the_container_setups_allow_their_remote_listeners() -> None:
    # Prometheus scrapes prober from another container, so both listen on
    # every address; without the option the stack would not start.
    repo = Path(__file__).resolve().parents[1]
    settings = load_config(repo / "docker" / "prober.toml").prober
    check_listen(*parse_listen(settings.listen), settings.allow_remote)
    command = re.search(r"^CMD (.+)$", (repo / "Dockerfile").read_text(), re.M)
    assert command is not None
    argv = json.loads(command.group(1))
    listen = argv[argv.index("--listen") + 1]
    check_listen(*parse_listen(listen), "--allow-remote" in argv)


@pytest.mark.parametrize(
    ("host", "shown"),
    [("::", "[::]:9464"), ("203.0.113.9", "203.0.113.9:9464"),
     ("::ffff:10.0.0.1", "[::ffff:10.0.0.1]:9464")],
)  # fmt: skip
def test_the_refusal_names_the_address_and_the_option(host: str, shown: str) -> None:
    with pytest.raises(SetupError, match="--allow-remote") as refused:
        check_listen(host, 9464, allow_remote=False)
    assert shown in str(refused.value)
    assert check_listen(host, 9464, allow_remote=True) is False
    assert check_listen("127.0.0.1", 9464, allow_remote=False) is True


async def test_the_service_itself_refuses_before_starting_anything(
    tmp_path: Path,
) -> None:
    database = tmp_path / "prober.db"
    options = ServiceOptions(database=str(database), listen="0.0.0.0:0")
    service = Service(catalog_with_tasks(), options)
    with pytest.raises(SetupError, match="0.0.0.0:0.*--allow-remote"):
        await service.start()
    await service.stop()
    assert not database.exists()


def test_listen_off_loopback_in_the_config_needs_allow_remote(tmp_path: Path) -> None:
    config = _config(tmp_path, listen="0.0.0.0:9464")
    result = _prober(tmp_path, "run", "--config", str(config))

    assert result.returncode == 2
    assert "0.0.0.0:9464" in result.stderr and "allow_remote" in result.stderr


def test_the_api_token_is_never_read_from_the_config(tmp_path: Path) -> None:
    config = _config(tmp_path, api_token=TOKEN)
    with pytest.raises(ConfigError, match="prober.api_token.*PROBER_API_TOKEN"):
        load_config(config)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.2", False),
        ("::ffff:192.0.2.2", False),
        ("no-such-host.invalid", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize("value", ["", " ", "two words", "tok\n", "é"])
def test_a_malformed_token_is_refused(value: str) -> None:
    with pytest.raises(SetupError, match="PROBER_API_TOKEN"):
        api_token_from_env({"PROBER_API_TOKEN": value})


def test_token_from_the_environment() -> None:
    assert api_token_from_env({}) is None
    assert api_token_from_env({"PROBER_API_TOKEN": TOKEN}) == TOKEN


def test_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    compare_digest = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(exposure.hmac, "compare_digest", spy)

    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN[:-1], TOKEN)
    assert compared == [(TOKEN.encode(), TOKEN.encode()),
                        (TOKEN[:-1].encode(), TOKEN.encode())]  # fmt: skip


@asynccontextmanager
async def _serving(tmp_path: Path, *args: str) -> AsyncIterator[str]:
    """`prober run` with ``args`` until stopped; yields its loopback URL."""
    env = {**os.environ, "PROBER_API_TOKEN": TOKEN}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "prober", "run", "--grace", "1", "--database",
        str(tmp_path / "prober.db"), *args,
        cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        async with asyncio.timeout(30):
            while not (match := _SERVING.search(await process.stderr.readline())):
                assert process.returncode is None
        yield f"http://127.0.0.1:{int(match.group(1))}"
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await process.communicate()
    assert process.returncode == 0


async def _status(
    http: aiohttp.ClientSession, url: str, auth: str | None
) -> tuple[int, str]:
    headers = {"Authorization": auth} if auth is not None else {}
    async with http.get(url, headers=headers) as response:
        await response.read()
        return response.status, response.headers.get("WWW-Authenticate", "")


@pytest.mark.parametrize("allowed_by", ["option", "config"])
async def test_a_remote_listener_guards_the_api_and_page_with_the_token(
    tmp_path: Path, allowed_by: str
) -> None:
    if allowed_by == "option":
        config = _config(tmp_path)
        args = ("--config", str(config), "--allow-remote", "--listen", "0.0.0.0:0")
    else:
        config = _config(tmp_path, listen="0.0.0.0:0", allow_remote=True)
        args = ("--config", str(config))
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        _serving(tmp_path, *args) as base,
        aiohttp.ClientSession(timeout=timeout) as http,
    ):
        for path in GUARDED:
            url = base + path
            status, challenge = await _status(http, url, None)
            assert status == 401 and challenge == 'Bearer realm="prober"', path
            status, challenge = await _status(http, url, "Bearer wrong-" + TOKEN)
            assert status == 401 and 'error="invalid_token"' in challenge, path
            assert (await _status(http, url, f"Basic {TOKEN}"))[0] == 401, path
            assert (await _status(http, url, TOKEN))[0] == 401, path
        for path in GUARDED[:3]:
            assert (await _status(http, base + path, f"Bearer {TOKEN}"))[0] == 200
            assert (await _status(http, base + path, f"bearer {TOKEN}"))[0] == 200
        async with http.get(
            base + "/api/v1/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as response:
            schemes = (await response.json())["components"]["securitySchemes"]
        assert schemes["bearer"] == {**schemes["bearer"], "scheme": "bearer"}
        for path in OPEN:
            assert (await _status(http, base + path, None))[0] == 200, path
        assert (await _status(http, base + "/readyz", None))[0] in (200, 503)


def test_a_port_in_use_is_one_error_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _prober(
            tmp_path, "run", "--config", str(_config(tmp_path)),
            "--listen", f"127.0.0.1:{port}",
            "--database", str(tmp_path / "prober.db"),
        )  # fmt: skip

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # Refused before anything starts: one line, no simulator, no database.
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert not (tmp_path / "prober.db").exists()
