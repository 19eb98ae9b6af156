"""Database engines: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError

from storage.outage import is_stale_connection

__all__ = [
    "create_schema",
    "database_backend",
    "database_url",
    "describe_database",
    "make_engine",
    "open_engine",
]

log = logging.getLogger(__name__)

_PG_CONNECT_TIMEOUT_S = 5


def database_url(value: str) -> str:
    """A SQLAlchemy URL from what a user typed: a URL or a SQLite file path.

    ``postgresql://`` URLs get the psycopg (version 3) driver prober ships.
    """
    if "://" not in value:
        return f"sqlite:///{value}"
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def database_backend(value: str) -> str:
    """``sqlite`` or ``postgresql`` for ``value``; ``ValueError`` otherwise.

    The message never repeats the URL, which may hold a password.
    """
    try:
        parsed = make_url(database_url(value))
    except (ArgumentError, ValueError):
        raise ValueError("not a database URL or SQLite file path") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {backend!r}; use sqlite or postgresql")
    return backend


def make_engine(value: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``value``; raises ``ValueError`` naming a bad URL.

    ``busy_timeout_s`` is how long a SQLite statement waits for a lock
    another connection holds before it fails (PostgreSQL ignores it).
    """
    url = database_url(value)
    if database_backend(value) == "sqlite":
        return _sqlite_engine(url, busy_timeout_s)
    engine = create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": _PG_CONNECT_TIMEOUT_S},
    )
    return _reconnecting_when_stale(engine)


def describe_database(value: str) -> str:
    """The database named for a message: a SQLite file's path, or the URL
    with its password hidden."""
    url = make_url(database_url(value))
    if database_backend(value) == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def open_engine(value: str) -> Engine:
    """An engine for a database that must already exist, for commands that
    only read it: a SQLite file that is not there raises ``ValueError``
    rather than being created empty."""
    if database_backend(value) == "sqlite":
        path = make_url(database_url(value)).database
        if path and path != ":memory:" and not Path(path).exists():
            raise ValueError(
                f"no database at {path}; `prober run`, `prober once` or "
                "`prober db upgrade` creates it"
            )
    return make_engine(value)


def _sqlite_engine(url: str, busy_timeout_s: float) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the API read while the writer writes; NORMAL sync is safe
        # with WAL and avoids an fsync per batch.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout_s * 1000)}")
        cursor.close()

    return _reconnecting_when_stale(engine)


def _reconnecting_when_stale(engine: Engine) -> Engine:
    """Pooled connections that failed as read-only, or on I/O, are dropped
    (as after a lost server) so the next use connects afresh and sees the
    database as it is now, not as it was when the connection was made."""

    @event.listens_for(engine, "handle_error")
    def _drop_stale(context: ExceptionContext) -> None:
        if is_stale_connection(context.original_exception):
            context.is_disconnect = True

    return engine


def create_schema(engine: Engine) -> None:
    """Bring the schema up to date (Alembic migrations to head)."""
    from storage.migrate import upgrade

    upgrade(engine)
