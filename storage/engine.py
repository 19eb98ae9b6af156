"""Database engines: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError

from storage.outage import is_stale_connection

__all__ = ["create_schema", "database_url", "make_engine"]

log = logging.getLogger(__name__)

_PG_CONNECT_TIMEOUT_S = 5
# How long a SQLite write waits for another connection's lock. Prober's own
# transactions are short batches; a lock held longer than this is reported
# (readiness false, "database is locked" in the log) while the rows wait,
# rather than stalling the writer silently.
_SQLITE_BUSY_TIMEOUT_S = 5


def database_url(value: str) -> str:
    """A SQLAlchemy URL from what a user typed: a URL or a SQLite file path.

    ``postgresql://`` URLs get the psycopg (version 3) driver prober ships.
    """
    if "://" not in value:
        return f"sqlite:///{value}"
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def make_engine(value: str) -> Engine:
    """An engine for ``value``; raises ``ValueError`` naming a bad URL."""
    url = database_url(value)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {value!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"connect_timeout": _PG_CONNECT_TIMEOUT_S},
        )
        return _reconnecting_when_stale(engine)
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r} in {value!r}")


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the API read while the writer writes; NORMAL sync is safe
        # with WAL and avoids an fsync per batch.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_S * 1000}")
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
