"""What the reliability tests share: a fast simulator profile, a prober
configuration pointed at a simulator, and reading the stored rows."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

MODELS = (
    "deepseek-coder",
    "deepseek-r1",
    "deepseek-v4-flash",
    "deepseek-v4-pro",
    "ga-standard",
    "glm-5",
    "hunyuan-turbo",
    "kimi-k2.5",
    "qwen3-32b",
    "qwen3-coder-30b",
)
CODING_PROBES = (
    "flatten",
    "race-condition",
    "dijkstra",
    "code-review",
    "express-endpoint",
    "context",
)


def fast_profiles(
    path: Path, ttft_s: float = 0.02, rate_limited: tuple[str, ...] = ()
) -> Path:
    """A profile file that makes every model answer a ping within tens of
    milliseconds, with no faults of its own and no reasoning; the models in
    ``rate_limited`` allow one request a minute."""
    lines = []
    for model in MODELS:
        rpm = 1 if model in rate_limited else 100_000
        lines += [
            f'[models."{model}"]',
            "keepalive_s = 0.0",
            f"ttft = {{ median_s = {ttft_s}, sigma = 0.0 }}",
            "decode = { median_tokens_per_s = 2000.0, sigma = 0.0 }",
            "reasoning = { median_tokens = 0.0 }",
            f"rate_limit = {{ requests_per_minute = {rpm}, "
            "tokens_per_minute = 100000000 }",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def ping_only_config(
    path: Path,
    base_url: str,
    *,
    interval_s: float,
    database: Path | None = None,
    timeouts: str = "{ connect_s = 2, first_token_s = 2, stall_s = 2, total_s = 5 }",
    extra: str = "",
) -> Path:
    """A prober configuration probing every simulator model with ``ping``
    alone, every ``interval_s`` seconds, at the simulator at ``base_url``."""
    lines = []
    if database is not None:
        lines += ["[prober]", f'database = "{database}"', ""]
    lines += [
        "[providers.simulator]",
        f'base_url = "{base_url}"',
        "",
        "[schedule]",
        "job_timeout_margin_s = 1",
        "misfire_grace_s = 30",
        "",
        "[probes.ping]",
        f"interval_s = {interval_s}",
        "jitter_s = 0",
        f"timeouts = {timeouts}",
        "",
    ]
    for probe in CODING_PROBES:
        lines += [f'[probes."{probe}"]', "enabled = false", ""]
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path


def stored_rows(database: Path) -> list[tuple[str, str, str | None]]:
    """(uid, model, error_type) of every stored probe row."""
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(
            "SELECT uid, model, error_type FROM probe_results"
        ).fetchall()
