"""Schema migrations with Alembic, for SQLite and PostgreSQL alike.

``prober db upgrade`` and every ``prober run`` call :func:`upgrade`. The
scripts live in ``storage/migrations`` and ship inside the package, so no
``alembic.ini`` is needed. Two details make it safe to run unattended:

* on PostgreSQL the upgrade holds an advisory lock for its transaction, so
  several probers starting at once against one database migrate it once;
* a database made by an early prober with ``create_all`` (a results table
  but no ``alembic_version``) is stamped at the first revision, then
  upgraded like any other.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

__all__ = ["current_revision", "head_revision", "upgrade"]

log = logging.getLogger(__name__)

_FIRST_REVISION = "0001"
# Any constant works; it only has to be the same for every prober.
_PG_LOCK_KEY = 0x70726F626572


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database to ``revision``; returns the revision it is at."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
            )
        config = _config(connection)
        before = _revision(connection)
        if before is None and inspect(connection).has_table("probe_results"):
            log.info("database predates migrations; stamping %s", _FIRST_REVISION)
            command.stamp(config, _FIRST_REVISION)
        command.upgrade(config, revision)
        after = _revision(connection)
    if after != before:
        log.info("database migrated from %s to %s", before or "empty", after)
    return after


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision(connection)


def head_revision() -> str | None:
    script = ScriptDirectory(str(_scripts()))
    return script.get_current_head()


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_scripts()))
    config.attributes["connection"] = connection
    return config


def _scripts() -> Path:
    return Path(str(resources.files("storage") / "migrations"))
