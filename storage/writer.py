"""The batched writer: rows go to SQL from a thread, never from the event loop.

Producers call :meth:`ResultWriter.submit`, which only appends to a queue and
never blocks. A single thread drains the queue, writes rows in batches, and
handles the database going away:

* while the database is unreachable, rows wait in memory up to
  ``max_pending``; beyond that the oldest are appended to a spill file
  (JSON lines), so memory stays bounded and nothing is dropped; once it has
  been away for ``max_wait_s``, every waiting row goes to the spill file as
  it comes, since memory does not survive a crash and the file does;
* when the database returns, the spill file is replayed first, then the
  waiting rows, in order;
* every row carries a unique ``uid`` and inserts skip rows already present,
  so a replay after a crash cannot write a row twice;
* a row the database rejects for its content (not for being away) is logged
  and kept in a ``.rejected`` file beside the spill file;
* a row may carry the probe's ``answer``: it goes, truncated, to the
  answers table in the same transaction as its result;
* while idle, the thread checks every few seconds that the database still
  answers, so :attr:`ResultWriter.healthy` (and ``/readyz``) turn false
  during an outage even when no row is waiting;
* an outage is logged once, as one line naming the database and its cause
  (:mod:`storage.outage`: locked, read-only, disk full, unreachable...);
* when the spill file cannot be written either (the disk is full), rows stay
  in memory past ``max_pending`` rather than being dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from storage.outage import UNAVAILABLE, outage_cause
from storage.spillfile import append_lines, count_lines, read_batches
from storage.tables import ANSWER_MAX_CHARS, ProbeAnswer, ProbeResult

__all__ = ["ResultWriter"]

log = logging.getLogger(__name__)

_STOP = object()


class ResultWriter:
    """Writes result rows in batches from its own thread."""

    def __init__(
        self,
        engine: Engine,
        spill_path: str | Path,
        *,
        table: Table | None = None,
        batch_size: int = 500,
        flush_interval_s: float = 0.25,
        max_pending: int = 10_000,
        retry_interval_s: float = 2.0,
        health_interval_s: float = 5.0,
        max_wait_s: float = 5.0,
    ) -> None:
        self._engine = engine
        self._where = engine.url.render_as_string(hide_password=True)
        # Another table with a ``uid`` column (the context sweeps) can use
        # the same batching, spilling and replay.
        self._results = table if table is not None else _table(ProbeResult)
        self._answers = _table(ProbeAnswer)
        self._spill = Path(spill_path)
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._max_pending = max_pending
        self._retry_interval_s = retry_interval_s
        self._health_interval_s = health_interval_s
        self._max_wait_s = max_wait_s
        self._away_since = 0.0
        self._spilling = False
        self._last_contact = time.monotonic()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: deque[dict[str, Any]] = deque()
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0
        self._spill_waiting = self._spill.exists()
        self._spill_file_rows = count_lines(self._spill)
        self._spill_retry_at: float | None = None
        self._flushed = threading.Condition()
        self._submitted = 0
        self.healthy = True
        self.written_total = 0
        self.spilled_total = 0
        self.rejected_total = 0

    @property
    def queue_depth(self) -> int:
        """Rows accepted but not yet in the database (spilled rows excluded)."""
        return self._queue.qsize() + len(self._pending)

    @property
    def spill_rows(self) -> int:
        """Rows in the spill file, waiting for the database."""
        return self._spill_file_rows

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="result-writer", daemon=True
        )
        self._thread.start()

    def submit(self, row: dict[str, Any]) -> None:
        """Queue one row; never blocks."""
        self._submitted += 1
        self._queue.put(row)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every submitted row is in the database; False if some
        are still waiting or spilled when ``timeout_s`` runs out."""
        deadline = time.monotonic() + timeout_s
        with self._flushed:
            while self.queue_depth or self._spill_waiting:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._flushed.wait(min(remaining, 0.1))
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what can be written within ``timeout_s``; spill the rest."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("result writer did not finish within %.0f s", timeout_s)
        self._thread = None

    def _run(self) -> None:
        stopping = False
        while not stopping:
            stopping = self._take_batch()
            self._write_pending()
            self._bound_memory()
            self._check_health()
            with self._flushed:
                self._flushed.notify_all()
        self._finish()

    def _take_batch(self) -> bool:
        """Move queued rows to the pending list; True when asked to stop."""
        try:
            item = self._queue.get(timeout=self._flush_interval_s)
        except queue.Empty:
            return False
        while item is not _STOP:
            self._pending.append(item)
            if len(self._pending) >= self._batch_size * 4:
                return False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
        return True

    def _write_pending(self) -> None:
        if not self.healthy and time.monotonic() < self._retry_at:
            return
        if self._spill_waiting and not self._replay_spill():
            return
        while self._pending:
            batch = [
                self._pending[i]
                for i in range(min(self._batch_size, len(self._pending)))
            ]
            if not self._insert(batch):
                return
            for _ in batch:
                self._pending.popleft()

    def _insert(self, rows: list[dict[str, Any]]) -> bool:
        """Insert ``rows``; False when the database is away."""
        try:
            self._insert_reconnecting(rows)
        except DBAPIError as exc:
            cause = outage_cause(exc)
            if cause is not None:
                self._mark_unhealthy(exc, cause)
                return False
            self._insert_one_by_one(rows)
        except SQLAlchemyError as exc:
            log.error("database error writing %d rows: %s", len(rows), exc)
            self._insert_one_by_one(rows)
        self._mark_healthy()
        self.written_total += len(rows)
        return True

    def _insert_reconnecting(self, rows: list[dict[str, Any]]) -> None:
        try:
            self._insert_all(rows)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # A pooled connection may hold the database as it was (a SQLite
            # file that has since turned read-only shows as an I/O error, a
            # restarted server as a closed socket); a new one tells how it
            # is now.
            self._insert_all(rows)

    def _insert_all(self, rows: list[dict[str, Any]]) -> None:
        results = [{k: v for k, v in row.items() if k != "answer"} for row in rows]
        answers = [_answer_row(row) for row in rows if row.get("answer")]
        with self._engine.begin() as connection:
            connection.execute(
                _insert_ignoring_duplicates(self._engine, self._results), results
            )
            if answers:
                connection.execute(
                    _insert_ignoring_duplicates(self._engine, self._answers), answers
                )

    def _check_health(self) -> None:
        """Notice an outage while idle; recovery is left to a real write
        when rows are waiting, since a database can answer a read and still
        refuse writes (a read-only SQLite file)."""
        now = time.monotonic()
        if self.healthy and now - self._last_contact < self._health_interval_s:
            return
        if not self.healthy and (now < self._retry_at or self._waiting()):
            return
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except DBAPIError as exc:
            self._mark_unhealthy(exc, outage_cause(exc) or UNAVAILABLE)
            return
        except SQLAlchemyError as exc:
            self._mark_unhealthy(exc, UNAVAILABLE)
            return
        self._mark_healthy()

    def _waiting(self) -> bool:
        return bool(self._pending) or self._spill_waiting

    def _insert_one_by_one(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            try:
                self._insert_all([row])
            except SQLAlchemyError as exc:
                self.rejected_total += 1
                log.error("database rejected row %s: %s", row.get("uid"), exc)
                append_lines(self._spill.with_suffix(".rejected"), [row])

    def _mark_unhealthy(self, exc: SQLAlchemyError, cause: str) -> None:
        if self.healthy:
            self._away_since = time.monotonic()
            detail = getattr(exc, "orig", None) or exc
            log.error(
                "database %s %s: holding %s rows (%d waiting): %s",
                self._where,
                cause,
                self._results.name,
                self.queue_depth,
                (str(detail).splitlines() or [type(detail).__name__])[0],
            )
        self.healthy = False
        self._retry_at = time.monotonic() + self._retry_interval_s

    def _mark_healthy(self) -> None:
        if not self.healthy:
            log.info("database reachable again")
        self.healthy = True
        self._spilling = False
        self._last_contact = time.monotonic()

    def _bound_memory(self) -> None:
        """At most ``max_pending`` rows in memory, and none once the
        database has been away for ``max_wait_s``; more only while the spill
        file cannot be written either."""
        if time.monotonic() < (self._spill_retry_at or 0.0):
            return
        if self._away_too_long():
            self._spill_oldest(len(self._pending))
        else:
            self._spill_oldest(len(self._pending) - self._max_pending)

    def _away_too_long(self) -> bool:
        away_s = time.monotonic() - self._away_since
        return not self.healthy and away_s > self._max_wait_s

    def _spill_oldest(self, count: int) -> None:
        if count <= 0:
            return
        rows = [self._pending[i] for i in range(count)]
        try:
            self._to_spill(rows)
        except OSError as exc:
            if self._spill_retry_at is None:
                log.error(
                    "cannot write the spill file %s (%s): keeping %d rows in memory",
                    self._spill,
                    exc.strerror or exc,
                    len(self._pending),
                )
            self._spill_retry_at = time.monotonic() + self._retry_interval_s
            return
        self._spill_retry_at = None
        for _ in rows:
            self._pending.popleft()
        if not self._spilling:
            log.warning("rows go to %s until the database takes them", self._spill)
            self._spilling = True

    def _replay_spill(self) -> bool:
        """Write the spill file's rows; True when none are left.

        Rows are read and written a batch at a time so a large spill file
        never sits in memory whole. A replay cut short starts again from the
        top next time; rows already written are skipped by their ``uid``.
        """
        if not self._spill.exists():
            self._spill_waiting = False
            return True
        log.info("replaying spilled rows from %s", self._spill)
        for batch in read_batches(self._spill, self._batch_size):
            if not self._insert(batch):
                return False
        self._spill.unlink()
        self._spill_waiting = False
        self._spill_file_rows = 0
        return True

    def _finish(self) -> None:
        """On stop: anything the database did not take goes to the spill file."""
        self._write_pending()
        if self._pending:
            self._spill_at_shutdown()
        with self._flushed:
            self._flushed.notify_all()

    def _spill_at_shutdown(self) -> None:
        count = len(self._pending)
        try:
            self._to_spill(list(self._pending))
        except OSError as exc:
            log.error(
                "database and spill file %s unavailable at shutdown (%s): %d rows lost",
                self._spill,
                exc.strerror or exc,
                count,
            )
        else:
            log.warning(
                "database unavailable at shutdown: %d rows kept in %s",
                count,
                self._spill,
            )
        self._pending.clear()

    def _to_spill(self, rows: list[dict[str, Any]]) -> None:
        # Set first: a failed append may still have created the file.
        self._spill_waiting = True
        append_lines(self._spill, rows)
        self._spill_file_rows += len(rows)
        self.spilled_total += len(rows)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _answer_row(row: dict[str, Any]) -> dict[str, Any]:
    answer: str = row["answer"]
    return {
        "uid": row["uid"],
        "answer": answer[:ANSWER_MAX_CHARS],
        "answer_chars": len(answer),
        "truncated": len(answer) > ANSWER_MAX_CHARS,
    }


def _insert_ignoring_duplicates(engine: Engine, table: Table) -> Any:
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["uid"])
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["uid"])
    return table.insert()
