"""Follows the event log from a position: LISTEN/NOTIFY for prompt wake-ups, a read of
every event after the last applied one, and reconnection with backoff after a lost
connection, so no change is missed and none applied twice."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.errors import StorageError
from infrastructure.persistence.errors import storage_errors
from infrastructure.projection.log import decode, log_query
from infrastructure.store import ConfigStore
from projections.records import LogRecord

log = logging.getLogger("conduit_config.client")
BATCH = 1000
POLL_SECONDS = 1.0
WAKE_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0


def backoff_seconds(failures: int) -> float:
    """How long to wait after ``failures`` failures in a row: growing, capped, jittered
    (so that many clients cut off together do not come back together)."""
    return min(MAX_BACKOFF_SECONDS, 0.1 * 2.0**failures) * random.uniform(0.5, 1)  # noqa: S311


#: Receives each batch of records, and the position of the batch's last row.
Apply = Callable[[list[LogRecord], int], None]


class LogFollower:
    """A thread that reads the log after ``position()`` and hands batches to ``apply``."""

    def __init__(
        self,
        *,
        store: ConfigStore,
        position: Callable[[], int],
        apply: Apply,
        on_error: Callable[[BaseException | None], None] = lambda _: None,
        connect_timeout: int = 10,
    ) -> None:
        self._store = store
        self._position = position
        self._apply = apply
        self._on_error = on_error
        self._connect_timeout = connect_timeout
        self._stop = threading.Event()
        self._failures = 0
        datastore = store.app.datastore
        self._fetch = log_query(
            datastore.schema,
            store.app.events_table,
            "e.notification_id > %s ORDER BY e.notification_id LIMIT %s",
        )
        self._channel = store.projections.channel
        self._thread = threading.Thread(target=self._run, name="config-follower", daemon=True)

    def start(self) -> None:
        """Start following."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread (about a tenth of a second when it is idle)."""
        self._stop.set()
        self._thread.join(timeout=self._connect_timeout + 5)

    def catch_up(self) -> int:
        """Apply every event after the current position; returns how many rows were read.

        Raises :class:`StorageError` (e.g. a pool connection the server terminated).
        """
        total = 0
        while True:
            with (
                storage_errors(),
                self._store.app.datastore.get_connection() as conn,
                conn.cursor(row_factory=tuple_row) as cur,
            ):
                cur.execute(self._fetch, (self._position(), BATCH))
                rows = cur.fetchall()
            if not rows:
                return total
            mapper = self._store.app.mapper
            records = [decode(mapper, row) for row in rows if row[6] is not None]
            self._apply(records, int(rows[-1][0]))
            total += len(rows)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except (psycopg.Error, OSError, StorageError) as exc:
                delay = self._failed(exc)
                log.warning("log follower: %s; reconnecting in %.1fs", type(exc).__name__, delay)
                if isinstance(exc, StorageError):
                    self._discard_broken()
                self._stop.wait(delay)
            except Exception as exc:  # the thread must not die: status() would say connected
                delay = self._failed(exc)
                log.exception("log follower failed; retrying in %.1fs", delay)
                self._stop.wait(delay)

    def _discard_broken(self) -> None:
        """A pool read failed: drop every broken idle connection of the pool now (one
        the server terminated fails only when used), so that the next attempt does not
        fail again on the next dead connection, once per connection, backing off longer
        each time."""
        try:
            self._store.app.datastore.pool.check()
        except Exception:  # best effort: the next attempt reports what fails
            log.debug("checking the pool's connections failed", exc_info=True)

    def _failed(self, exc: BaseException) -> float:
        """Report a failure; the (jittered, growing) delay before the next attempt."""
        self._failures += 1
        self._on_error(exc)
        return backoff_seconds(self._failures)

    def _follow(self) -> None:
        with psycopg.connect(
            self._store.database_url, autocommit=True, connect_timeout=self._connect_timeout
        ) as listener:
            listener.execute(SQL("LISTEN {}").format(Identifier(self._channel)))
            self.catch_up()  # after LISTEN: nothing committed since can be missed
            self._failures = 0
            self._on_error(None)
            polled = time.monotonic()
            while not self._stop.is_set():
                # Short waits keep stop() prompt; the log is read on a NOTIFY, or once a
                # poll interval in case one was lost with a connection.
                woken = any(True for _ in listener.notifies(timeout=WAKE_SECONDS, stop_after=1))
                if woken or time.monotonic() - polled >= POLL_SECONDS:
                    self.catch_up()
                    polled = time.monotonic()
