"""``python -m simulator``: the line it prints, serving, and a clean stop."""

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner
from sim_helpers import TIMEOUT, chat_body

from prober.cli import main

pytestmark = pytest.mark.timeout(30)


async def launch(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop(process: asyncio.subprocess.Process) -> tuple[int, bytes, bytes]:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode is not None
    return process.returncode, stdout, stderr


async def test_prints_one_line_serves_and_stops_on_sigterm() -> None:
    process = await launch("--port", "0", "--seed", "3")
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 15)  # type: ignore[union-attr]
        url = line.decode().removeprefix("listening on ").strip()
        assert line.decode().startswith("listening on http://127.0.0.1:")

        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            body = chat_body("deepseek-v4-flash", stream=True, max_tokens=400)
            async with http.post(f"{url}/v1/chat/completions", json=body) as resp:
                assert resp.status == 200
                await resp.content.readuntil(b'"content":"')
                # Stop with a stream still open: the stop must not wait for it.
                started = asyncio.get_running_loop().time()
                returncode, stdout, stderr = await stop(process)
                stopped_in = asyncio.get_running_loop().time() - started
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert returncode == 0
    assert stdout == b""
    assert stopped_in < 5.0
    assert b"simulator stopping" in stderr


async def test_a_bad_profile_file_is_named_and_nothing_listens(tmp_path: Path) -> None:
    profile = tmp_path / "mine.toml"
    profile.write_text("[models.glm-5]\ncapacty = 3\n")

    process = await launch("--port", "0", "--profiles", str(profile))
    stdout, stderr = await asyncio.wait_for(process.communicate(), 15)

    assert process.returncode == 2
    assert stdout == b""
    assert f"{profile}: models.glm-5.capacty: unknown key".encode() in stderr


def test_prober_simulate_names_a_bad_profile_file_in_one_line(tmp_path: Path) -> None:
    profile = tmp_path / "mine.toml"
    profile.write_text("[models.glm-5]\ncapacty = 3\n")

    result = CliRunner().invoke(
        main, ["simulate", "--port", "0", "--profiles", str(profile)]
    )

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == f"error: {profile}: models.glm-5.capacty: unknown key\n"
