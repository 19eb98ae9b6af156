"""prober against an OpenAI-compatible simulator it did not write.

fakeai (a test dependency from PyPI) streams with realistic delays and its
own chunk layout (explicit nulls in every delta field, usage on the last
chunk). Nothing is installed at run time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

MODEL = "openai/gpt-oss-120b"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"fakeai exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"fakeai did not answer within {deadline_s} s")


@pytest.fixture
def fakeai_url(tmp_path: Path) -> Iterator[str]:
    executable = Path(sys.executable).with_name("fakeai")
    if not executable.exists():
        pytest.skip("fakeai is not installed (pip install -e '.[test]')")
    port = _free_port()
    log = (tmp_path / "fakeai.log").open("wb")
    process = subprocess.Popen(
        [str(executable), "server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(url, process, 60)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_once_against_fakeai_gives_sane_records(
    fakeai_url: str, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-m", "prober", "once", "--target", fakeai_url,
        "--model", MODEL, "--probe", "ping", "--probe", "flatten",
        "--json", "--no-store",
    ]  # fmt: skip
    env = {**os.environ, "FAKE_KEY": "fake-key-value"}
    done = subprocess.run(
        [*command, "--api-key-env", "FAKE_KEY"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["probe"] for r in records] == ["ping", "flatten"]
    for record in records:
        assert record["ok"], record
        assert record["model"] == MODEL and record["provider"] == "target"
        assert 0 < record["ttft_s"] < record["e2e_s"]
        assert record["tokens_source"] == "usage"
        assert record["output_tokens"] > 0 and record["input_tokens"] > 0
        assert record["cost_usd"] is None  # no price for a model outside the catalog
        assert record["finish_reason"] in ("stop", "length")
    assert "fake-key-value" not in done.stdout + done.stderr
