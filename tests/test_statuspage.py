"""The status page as a person sees it: opened in headless Chromium, it
shows every model, its state, uptime, latency, error rate, last error and a
chart, and it carries no script at all."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp import web

from prober.api import ApiContext
from prober.catalog import build_catalog
from prober.config import load_config
from prober.metrics import ProberMetrics
from prober.reads import Reads
from prober.web import create_app
from storage import ResultWriter, create_schema, make_engine
from tests.storage.rows import BASE, result_row

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} is not installed"
)


@pytest.fixture
async def page_url(tmp_path: Path) -> AsyncIterator[str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'prober.db'}")
    create_schema(engine)
    now = datetime.now(UTC)
    offset = (now - BASE).total_seconds()
    writer = ResultWriter(engine, tmp_path / "spill.jsonl")
    writer.start()
    for minutes in range(60, 0, -2):
        at = offset - minutes * 60
        writer.submit(result_row(at, ttft_s=0.2 + minutes / 100))
        writer.submit(result_row(at, model="qwen3-32b", ttft_s=0.4))
    # Context sweep requests: long prompts, slow and sometimes cut. The page
    # leaves them out of latency, error rate and chart, as it does of uptime.
    for minutes in (50, 40, 30, 20, 10):
        writer.submit(
            result_row(offset - minutes * 60, model="qwen3-32b", probe="context",
                       ttft_s=30.0, context_tokens=128_000)
        )  # fmt: skip
    writer.submit(
        result_row(
            offset - 5 * 60, model="qwen3-32b", probe="context", ok=False,
            error_type="total_timeout", ttft_s=None,
        )
    )  # fmt: skip
    writer.submit(
        result_row(
            offset - 30,
            model="qwen3-32b",
            ok=False,
            error_type="http_5xx",
            status_code=503,
            error_message="HTTP 503: upstream overloaded",
            ttft_s=None,
        )
    )
    writer.close()
    catalog = build_catalog(load_config())
    reads = Reads(engine)
    context = ApiContext(reads, catalog, frozenset(catalog.models), "eu-west")
    runner = web.AppRunner(create_app(ProberMetrics(), api=context), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/"
    finally:
        await runner.cleanup()
        reads.close()
        engine.dispose()
        assert now - timedelta(hours=1) < datetime.now(UTC)


async def _chromium(tmp_path: Path, *arguments: str) -> str:
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return stdout.decode()


class _Text(HTMLParser):
    """The text a reader sees, cell by cell, per table row id."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.svg_rows: set[str] = set()
        self.text: list[str] = []
        self._row: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "title"):
            self._skip += 1
        if tag == "tr":
            self._row = dict(attrs).get("id")
            if self._row:
                self.rows[self._row] = []
        if tag == "td" and self._row:
            self.rows[self._row].append("")
        if tag == "svg" and self._row:
            self.svg_rows.add(self._row)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._row and self.rows[self._row]:
            self.rows[self._row][-1] += data


async def test_a_person_sees_every_model_state_uptime_latency_and_errors(
    page_url: str, tmp_path: Path
) -> None:
    dom = await _chromium(tmp_path, "--dump-dom", page_url)
    page = _Text()
    page.feed(dom)
    text = " ".join(" ".join(page.text).split())

    assert "<script" not in dom.lower()
    assert "prober status" in text and "eu-west" in text
    assert len(page.rows) == 10
    for header in ("Uptime 1h", "Uptime 30d", "TTFT p50", "Error rate", "Last error"):
        assert header in text

    glm = [" ".join(cell.split()) for cell in page.rows["model-glm-5"]]
    assert glm[0].startswith("GLM-5") and glm[1] == "up"
    assert glm[2:6] == ["100.00%"] * 4
    assert re.fullmatch(r"\d+ ms", glm[6]) and glm[8] == "0.00%"
    assert glm[9] == "none"
    assert "model-glm-5" in page.svg_rows

    qwen = [" ".join(cell.split()) for cell in page.rows["model-qwen3-32b"]]
    assert qwen[1] == "down"
    assert qwen[3] == f"{30 / 31 * 100:.2f}%"  # 24 h: 30 successes, 1 failure
    assert qwen[6] == "400 ms" and qwen[7] == "400 ms"  # p50, p95: pings only
    assert qwen[8] == f"{1 / 31 * 100:.2f}%"
    assert "http_5xx" in qwen[9] and "upstream overloaded" in qwen[9]

    kimi = [" ".join(cell.split()) for cell in page.rows["model-kimi-k2.5"]]
    assert kimi[1] == "unknown" and kimi[2] == "–"


async def test_screenshot_renders(page_url: str, tmp_path: Path) -> None:
    shot = tmp_path / "status.png"
    await _chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1400,800", page_url
    )
    assert await asyncio.to_thread(os.path.getsize, shot) > 10_000
    keep = os.environ.get("PROBER_KEEP_SCREENSHOT")
    if keep:
        await asyncio.to_thread(shutil.copyfile, shot, keep)
