"""`prober db upgrade` and `prober db current` on both databases."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from prober.cli import main
from storage.migrate import head_revision


def test_db_upgrade_then_current(database_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["db", "upgrade", "--database", database_url])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    result = runner.invoke(main, ["db", "current", "--database", database_url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"database at {head_revision()};")


@pytest.mark.parametrize(
    "command",
    [["db", "current"], ["report"], ["report", "--context"], ["report", "--load"]],
    ids=" ".join,
)
def test_reading_a_missing_sqlite_file_says_so_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "nowhere.db"

    result = CliRunner().invoke(main, [*command, "--database", str(missing)])

    assert result.exit_code == 1, result.output
    assert f"no database at {missing}" in result.output
    assert not missing.exists()


# A database on the real server that does not exist, and a password that must
# never be printed.
_MISSING_PG = "postgresql://postgres:canary-pw-7f3@127.0.0.1:5432/prober_no_such_db"


@pytest.mark.parametrize(
    "command",
    [
        ["db", "current"],
        ["report"],
        ["report", "--context"],
        ["report", "--load"],
        ["once", "--model", "glm-5"],
    ],
    ids=" ".join,
)
def test_a_database_that_cannot_be_used_is_one_line_without_its_password(
    command: list[str],
) -> None:
    result = CliRunner().invoke(main, [*command, "--database", _MISSING_PG])

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.stderr.strip()
    assert message.startswith("error: cannot ")
    assert "\n" not in message
    assert "postgres:***@127.0.0.1:5432/prober_no_such_db" in message
    assert 'database "prober_no_such_db" does not exist' in message
    assert "canary-pw-7f3" not in result.output + result.stderr


def test_once_refuses_the_database_before_it_probes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    result = CliRunner().invoke(
        main, ["once", "--model", "glm-5", "--database", _MISSING_PG]
    )

    assert result.exit_code == 2, result.output
    assert "cannot prepare the database" in result.stderr
    # Probing would start the embedded simulator first; nothing was started.
    assert "embedded simulator serving" not in caplog.text
    assert result.stdout == ""
