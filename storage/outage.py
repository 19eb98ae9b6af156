"""Why a database refuses every row: one cause from a closed set.

The writer holds rows back (and readiness turns false) while the database is
away or refuses all writes; it reports one of :data:`CAUSES` in a single log
line, so an operator reads "disk full" rather than a driver's traceback. A
refusal of the rows themselves (a constraint, a bad value) is no outage:
:func:`outage_cause` returns ``None`` for it and the rows are set aside.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

__all__ = ["CAUSES", "is_stale_connection", "outage_cause"]

LOCKED = "database is locked"
READ_ONLY = "read-only"
DISK_FULL = "disk full"
IO_ERROR = "I/O error"
UNREACHABLE = "unreachable"
UNAVAILABLE = "unavailable"
CAUSES = (LOCKED, READ_ONLY, DISK_FULL, IO_ERROR, UNREACHABLE, UNAVAILABLE)

# SQLite result codes, by the name Python's sqlite3 reports (extended codes
# such as SQLITE_READONLY_DBMOVED share their primary code's prefix).
_SQLITE = {
    "SQLITE_BUSY": LOCKED,
    "SQLITE_LOCKED": LOCKED,
    "SQLITE_READONLY": READ_ONLY,
    "SQLITE_FULL": DISK_FULL,
    "SQLITE_IOERR": IO_ERROR,
    "SQLITE_CANTOPEN": UNREACHABLE,
}

# PostgreSQL SQLSTATEs (appendix A of its manual): a standby or a
# default_transaction_read_only database, a full disk, an operator's
# shutdown and lost connections refuse every row, not one.
_POSTGRES = {
    "25006": READ_ONLY,
    "53100": DISK_FULL,
    "53": UNAVAILABLE,
    "57P": UNREACHABLE,
    "08": UNREACHABLE,
}


def outage_cause(exc: DBAPIError) -> str | None:
    """The cause when ``exc`` means no row can be written now; ``None`` when
    the database is up and refuses these rows for their content."""
    orig = exc.orig
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        for prefix, cause in _SQLITE.items():
            if name.startswith(prefix):
                return cause
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str):
        for prefix, cause in _POSTGRES.items():
            if state.startswith(prefix):
                return cause
    if exc.connection_invalidated:
        return UNREACHABLE
    if isinstance(exc, OperationalError | InterfaceError):
        return UNREACHABLE if state is None and name is None else UNAVAILABLE
    return None


def is_stale_connection(orig: BaseException) -> bool:
    """True when the connection that raised ``orig`` should not be reused.

    A SQLite connection opened while its file was read-only stays read-only
    after the file is writable again, and one that saw an I/O error may hold
    a stale view of the file; a PostgreSQL session keeps the
    ``default_transaction_read_only`` it started with.
    """
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        return name.startswith(("SQLITE_IOERR", "SQLITE_READONLY"))
    return getattr(orig, "sqlstate", None) == "25006"
