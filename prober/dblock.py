"""One `prober run` per SQLite file.

Two services writing one SQLite file would each migrate it, roll it up and
export uptime from it as if alone, so the second refuses to start. The guard
is an advisory lock (``flock``) on ``<database>.lock`` beside the file,
holding the owner's pid so the refusal can name it. The kernel drops the
lock when its process dies, however it dies, so a file left behind by a
killed prober never blocks the next one. PostgreSQL needs no such lock:
several probers share one by design, each migrating under PostgreSQL's own
advisory lock. Commands that only read (reports, ``db current``) never take
it.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from prober.exceptions import SetupError
from storage.engine import database_url

__all__ = ["DatabaseLock", "sqlite_path"]

log = logging.getLogger(__name__)


def sqlite_path(database: str) -> Path | None:
    """The file behind ``database`` when it is a SQLite file, else None."""
    try:
        url = make_url(database_url(database))
    except ArgumentError:
        return None  # make_engine names the bad URL when the service opens it
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


class DatabaseLock:
    """The lock on one SQLite file, held from :meth:`acquire` to
    :meth:`release` (or the process's end)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`SetupError` naming the file and
        the pid of the prober that holds it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SetupError(f"cannot create the lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise SetupError(
                f"the database {self.database} is in use by another prober "
                f"(pid {holder}, lock {self.path}); run one prober per SQLite "
                "file, or share a PostgreSQL database"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        log.debug("locked %s", self.path)

    def release(self) -> None:
        """Drop the lock. The file stays: removing it could let two probers
        lock two different files of the same name."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_pid(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return text if text.isdigit() else "unknown"
