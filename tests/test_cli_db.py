"""`prober db upgrade` and `prober db current` on both databases."""

from __future__ import annotations

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
