"""Every bad config file is refused with the file, the dotted key and a reason,
both from the loader and from the command line (one line, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from prober.catalog import build_catalog
from prober.cli import main
from prober.config import load_config
from prober.exceptions import ConfigError

# (file text, dotted key, words of the reason)
BAD = [
    # Unknown keys, at every level.
    ("colour = 1\n", "colour", "unknown key"),
    ("[prober]\nlisten_on = 1\n", "prober.listen_on", "unknown key"),
    ("[schedule]\nping_s = 1\n", "schedule.ping_s", "unknown key"),
    ("[retention]\nraw = 1\n", "retention.raw", "unknown key"),
    ("[grading]\nworker = 1\n", "grading.worker", "unknown key"),
    ("[providers.global-api]\nurl = 'x'\n", "providers.global-api.url", "unknown"),
    ("[models.glm-5]\nprice = 1.0\n", "models.glm-5.price", "unknown key"),
    ("[probes.ping]\nevery = 5\n", "probes.ping.every", "unknown key"),
    ("[probes.ping.timeouts]\nread_s = 5\n", "probes.ping.timeouts.read_s", "unknown"),
    ("[probes.context]\nladders = [1]\n", "probes.context.ladders", "unknown key"),
    ("[probes.context.timeouts]\nx = 1\n", "probes.context.timeouts.x", "unknown key"),
    (
        "[[maintenance]]\nstart = 2026-01-01T00:00:00Z\n"
        "end = 2026-01-02T00:00:00Z\nwhy = 'x'\n",
        "maintenance.0.why",
        "unknown key",
    ),
    # Wrong types.
    ("providers = 5\n", "providers", "dictionary"),
    ("models = [1]\n", "models", "dictionary"),
    ("[prober]\ndatabase = 5\n", "prober.database", "string"),
    (
        "[models.glm-5]\nprice_per_mtok = 'cheap'\n",
        "models.glm-5.price_per_mtok",
        "number",
    ),
    ("[models.glm-5]\nenabled = 'maybe'\n", "models.glm-5.enabled", "boolean"),
    ("[models.glm-5]\nintervals = 5\n", "models.glm-5.intervals", "dictionary"),
    ("[probes]\nping = 5\n", "probes.ping", "dictionary"),
    ("[probes.ping]\nmax_tokens = 1.5\n", "probes.ping.max_tokens", "integer"),
    ("[grading]\nsandbox = 'maybe'\n", "grading.sandbox", "'on', 'required' or 'off'"),
    ("[[maintenance]]\nstart = 'x'\n", "maintenance.0.start", "datetime"),
    ("maintenance = 5\n", "maintenance", "list"),
    ("prober = 5\n", "prober", "dictionary"),
    ("[[providers]]\nbase_url = 'http://h'\n", "providers", "dictionary"),
    (
        "[models.glm-5.intervals]\nping = 'fast'\n",
        "models.glm-5.intervals.ping",
        "number",
    ),
    ("[probes.context]\ndepths = 0.5\n", "probes.context.depths", "tuple"),
    # Negative or zero intervals and durations.
    ("[probes.ping]\ninterval_s = -5\n", "probes.ping.interval_s", "greater than 0"),
    ("[probes.ping]\njitter_s = -1\n", "probes.ping.jitter_s", "greater than or equal"),
    ("[schedule]\ncoding_interval_s = 0\n", "schedule.coding_interval_s", "than 0"),
    (
        "[probes.ping.timeouts]\nstall_s = -1\n",
        "probes.ping.timeouts.stall_s",
        "greater than 0",
    ),
    (
        "[models.glm-5.intervals]\nping = -1\n",
        "models.glm-5.intervals.ping",
        "greater than 0",
    ),
    ("[models.glm-5.intervals]\npong = 5\n", "models.glm-5.intervals.pong", "unknown"),
    ("[retention]\nraw_days = -1\n", "retention.raw_days", "greater than 0"),
    ("[prober]\ndrain_grace_s = -1\n", "prober.drain_grace_s", "greater than or"),
    # Bad URLs and addresses.
    ("[providers.x]\nbase_url = 'ftp://h'\n", "providers.x.base_url", "http://"),
    ("[providers.x]\nbase_url = 'localhost'\n", "providers.x.base_url", "http://"),
    ("[prober]\ndatabase = 'mysql://h/db'\n", "prober.database", "unsupported"),
    ("[prober]\ndatabase = 'postgresql://h:x/db'\n", "prober.database", "URL"),
    ("[prober]\nlisten = 'nowhere'\n", "prober.listen", "HOST:PORT"),
    ("[prober]\nlisten = '127.0.0.1:99999'\n", "prober.listen", "HOST:PORT"),
    ("[prober]\nshard = '3/2'\n", "prober.shard", "between 1 and N"),
    # Bad prices.
    ("[models.glm-5]\nprice_per_mtok = -1\n", "models.glm-5.price_per_mtok", ">= 0"),
    (
        "[models.glm-5]\ninput_price_per_mtok = -0.1\n",
        "models.glm-5.input_price_per_mtok",
        "greater than or equal to 0",
    ),
    ("[models.new]\ndisplay_name = 'x'\n", "models.new.price_per_mtok", "missing"),
    # A model moved to a provider nobody declared.
    ("[models.glm-5]\nprovider = 'nowhere'\n", "models.glm-5.provider", "unknown"),
    # Keys belong in the environment, wherever the file tries to put one.
    (
        "[providers.global-api]\napi_key = 'sk-1'\n",
        "providers.global-api.api_key",
        "environment only",
    ),
    ("api_key = 'sk-1'\n", "api_key", "environment only"),
    ("[models.glm-5]\ntoken = 'x'\n", "models.glm-5.token", "environment only"),
    ("[[maintenance]]\nPassword = 'x'\n", "maintenance.0.Password", "environment"),
]

REASONS = {
    ">= 0": "greater than or equal to 0",
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


def _id(case: tuple[str, str, str]) -> str:
    return case[1]


@pytest.mark.parametrize("case", BAD, ids=_id)
def test_error_names_file_key_and_reason(
    tmp_path: Path, case: tuple[str, str, str]
) -> None:
    text, key, reason = case
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        build_catalog(load_config(path), str(path))
    message = str(caught.value)
    assert str(path) in message
    assert f" {key}: " in f" {message}" or f": {key}: " in message, message
    assert REASONS.get(reason, reason) in message


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", BAD, ids=_id)
def test_command_line_prints_one_line(
    tmp_path: Path, case: tuple[str, str, str]
) -> None:
    text, key, _ = case
    path = _write(tmp_path, text)
    database = tmp_path / "never.db"
    result = CliRunner().invoke(
        main, ["run", "--config", str(path), "--database", str(database)]
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and str(path) in lines[0] and key in lines[0]
    assert not database.exists()


def test_broken_toml_gives_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "[prober]\nvantage = 'x'\n\n[models\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.source == str(path)
    assert "not valid TOML" in str(caught.value) and "line 4" in str(caught.value)


def test_key_value_never_shown(tmp_path: Path) -> None:
    path = _write(tmp_path, "[providers.global-api]\napi_key = 'sk-canary-0123'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "canary" not in str(caught.value)


@pytest.mark.timeout(60)
def test_real_process_exits_with_one_line(tmp_path: Path) -> None:
    bad = [
        "[models\n",
        "providers = 5\n",
        "[models.glm-5]\nprovider = 'nowhere'\n",
        "[prober]\nlisten = 'nowhere'\n",
    ]
    for index, text in enumerate(bad):
        path = tmp_path / f"bad{index}.toml"
        path.write_text(text)
        done = subprocess.run(
            [sys.executable, "-m", "prober", "run", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "COLUMNS": "40"},
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("error: ") and str(path) in line


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "command",
    [["run"], ["once", "--model", "glm-5"], ["report"], ["db", "upgrade"]],
    ids=" ".join,
)
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://u:hunter22@h/db", "unsupported database 'mysql'"),
        ("postgresql://u:hunter22@h:port/db", "not a database URL"),
    ],
)
def test_bad_database_option_is_one_line(
    command: list[str], url: str, reason: str
) -> None:
    result = CliRunner().invoke(main, [*command, "--database", url])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: --database: {reason}")
    assert "hunter22" not in result.output + result.stderr


def test_a_model_may_be_named_like_a_secret(tmp_path: Path) -> None:
    path = _write(tmp_path, "[models.token]\ndisplay_name = 'T'\nprice_per_mtok = 1\n")
    catalog = build_catalog(load_config(path), str(path))
    assert catalog.models["token"].display_name == "T"
