"""Follows the event log from a position: LISTEN/NOTIFY for prompt wake-ups, a read of
every event after the last applied one, and reconnection with backoff after a lost
connection (the loop of :class:`~infrastructure.persistence.listener.Listener`), so no
change is missed and none applied twice. Its users: the client runtime, the HTTP
server's read cache and the Redis mirror."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import psycopg

from infrastructure.errors import StorageError
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.listener import Listener, Report
from infrastructure.projection.log import LogRow, log_query, log_row
from infrastructure.projection.tolerant import BrokenRow, decode_each
from infrastructure.settings import DEFAULTS
from infrastructure.store.service import ConfigStore
from projections.records import LogRecord

log = logging.getLogger("conduit_config.client")
BATCH = 1000
POLL_SECONDS = 1.0
WAKE_SECONDS = 0.1


#: Receives each batch of records, and the position of the batch's last row. Returns
#: ``False`` when it did not apply the batch because the position moved meanwhile (e.g.
#: another process applied it): the batch is not counted, the position read again.
Apply = Callable[[list[LogRecord], int], bool | None]
#: Receives, in log order between the batches around it, a row that does not decode.
Broken = Callable[[BrokenRow], None]


def log_failure(exc: BaseException, delay: float) -> None:
    """The default :data:`Report`: a warning for a lost connection, else the traceback."""
    if isinstance(exc, psycopg.Error | OSError | StorageError):
        log.warning("log follower: %s; reconnecting in %.1fs", type(exc).__name__, delay)
    else:  # the loop must not die (status() would say connected): a bug, retried
        log.exception("log follower failed; retrying in %.1fs", delay)


class LogFollower:
    """Reads the log after ``position()`` and hands batches to ``apply``: in a thread of
    its own (:meth:`start`, :meth:`stop`), or in the caller's (:meth:`follow`).

    ``batch_size`` rows are read at a time; ``at_head(position)`` is called when nothing
    follows the position; ``guard()`` wraps each connection's work (LISTEN, reads and
    waits); ``report`` logs each failure (``on_error`` is told of it too). A row that
    does not decode is logged and skipped, or handed to ``on_broken`` in its place in
    the log: it never stops the follower.
    """

    def __init__(
        self,
        *,
        store: ConfigStore,
        position: Callable[[], int],
        apply: Apply,
        on_error: Callable[[BaseException | None], None] = lambda _: None,
        connect_timeout: int = DEFAULTS.connect_timeout,
        batch_size: int = BATCH,
        at_head: Callable[[int], None] = lambda _: None,
        guard: Callable[[], AbstractContextManager[None]] = nullcontext,
        report: Report = log_failure,
        on_broken: Broken | None = None,
    ) -> None:
        self._store = store
        self._position = position
        self._apply = apply
        self._on_error = on_error
        self._connect_timeout = connect_timeout
        self._batch_size = batch_size
        self._at_head = at_head
        self._report = report
        self._on_broken = on_broken
        self._stop = threading.Event()
        self._listener = Listener(
            url=store.database_url,
            channel=store.projections.channel,
            connect_timeout=connect_timeout,
            wake_seconds=WAKE_SECONDS,
            poll_seconds=POLL_SECONDS,
            guard=guard,
        )
        self._fetch = log_query(
            store.app.datastore.schema,
            store.app.events_table,
            "e.notification_id > %s ORDER BY e.notification_id LIMIT %s",
        )
        self._thread = threading.Thread(target=self._run, name="config-follower", daemon=True)

    @property
    def connect_timeout(self) -> int:
        """Seconds it waits for each connection to the database."""
        return self._connect_timeout

    def start(self) -> None:
        """Start following."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread (about a tenth of a second when it is idle)."""
        self._stop.set()
        self._thread.join(timeout=self._connect_timeout + 5)

    def catch_up(self, stop: threading.Event | None = None) -> int:
        """Apply every event after the current position (until ``stop`` is set); returns
        how many rows were read, less those of batches ``apply`` refused.

        Raises :class:`StorageError` (e.g. a pool connection the server terminated), and
        what ``position``, ``apply`` and ``at_head`` raise.
        """
        total = 0
        while stop is None or not stop.is_set():
            position = self._position()
            with (
                storage_errors(),
                self._store.app.datastore.get_connection() as conn,
                conn.cursor(row_factory=log_row) as cur,
            ):
                cur.execute(self._fetch, (position, self._batch_size))
                rows = cur.fetchall()
            if not rows:
                self._at_head(position)
                return total
            if self._hand_over(rows):
                total += len(rows)
        return total

    def _hand_over(self, rows: list[LogRow]) -> bool:
        """Apply a batch; False when ``apply`` refused it."""
        items = decode_each(self._store.app.mapper, rows)
        last = rows[-1].position
        records = [i for i in items if not isinstance(i, BrokenRow)]
        if self._on_broken is None or len(records) == len(items):
            return self._apply(records, last) is not False
        run: list[LogRecord] = []
        for item in items:  # in log order: each broken row between the records around it
            if not isinstance(item, BrokenRow):
                run.append(item)
                continue
            if run:
                self._apply(run, run[-1].position)
                run = []
            self._on_broken(item)
        return self._apply(run, last) is not False

    def follow(self, stop: threading.Event) -> None:
        """Follow the log in the caller's thread until ``stop`` is set; returns within
        about a tenth of a second of it when idle. Raises nothing: each failure is
        reported, then retried with backoff (a
        :class:`~infrastructure.persistence.listener.StalledError` after the longest)."""
        self._listener.follow(
            stop, lambda: self.catch_up(stop), on_error=self._on_error, report=self._failed
        )

    def _failed(self, exc: BaseException, delay: float) -> None:
        """Report a failure; after a failed pool read, drop the pool's dead connections."""
        self._report(exc, delay)
        if isinstance(exc, StorageError):
            self._discard_broken()

    def _run(self) -> None:
        self.follow(self._stop)

    def _discard_broken(self) -> None:
        """A pool read failed: drop every broken idle connection of the pool now (one
        the server terminated fails only when used), so that the next attempt does not
        fail again on the next dead connection, once per connection, backing off longer
        each time."""
        try:
            self._store.app.datastore.pool.check()
        except Exception:  # best effort: the next attempt reports what fails
            log.debug("checking the pool's connections failed", exc_info=True)
