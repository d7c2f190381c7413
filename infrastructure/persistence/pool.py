"""The connection pool behind every recorder, bounded while the database is unreachable.

psycopg_pool on its own makes each caller wait the whole pool timeout when the database
is down (it keeps connection errors to its workers), backs off reconnecting for up to
minutes (so recovery lags the database's return), and gives idle connections the server
dropped to the next callers one at a time. :class:`GuardedPool` instead:

- admits callers through a :class:`DatabaseHealth` (fail at once while the database is
  known down, one probe a second);
- fails the callers waiting for a connection as soon as connecting fails;
- retries connecting at least once a second, so it is back within a second of the
  database;
- drops every idle connection when one is found broken (they died together);
- passes ``connect_timeout`` and TCP keepalives to every connection, so neither a
  connection attempt nor a connection to a vanished host hangs.
"""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.postgres import ConnectionPool, PostgresDatastore
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg_pool import PoolClosed, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

from infrastructure.persistence.errors import first_line
from infrastructure.persistence.outage import DatabaseHealth, DatabaseUnavailableError

log = logging.getLogger("conduit_config.database")
#: Longest wait between two attempts to reconnect a pool slot.
RECONNECT_SECONDS = 1.0
#: How long closing the pool waits for each of its threads (one may be stuck connecting).
CLOSE_SECONDS = 0.2


class _Attempt(AttemptWithBackoff):
    """psycopg_pool's reconnection backoff, capped at :data:`RECONNECT_SECONDS`."""

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_SECONDS)


class GuardedPool(ConnectionPool[Connection[DictRow]]):
    """A pool whose :meth:`getconn` fails within ``timeout`` seconds while the database
    is unreachable (at once while it is known to be), raising
    :class:`DatabaseUnavailableError`."""

    def __init__(self, *, health: DatabaseHealth, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.health = health

    @classmethod
    def replacing(
        cls, datastore: PostgresDatastore, *, timeout: float, connect_timeout: int
    ) -> GuardedPool:
        """A pool for ``datastore`` like the one it made (not yet opened), waiting
        ``timeout`` seconds at most for a connection."""
        old = datastore.pool
        assert isinstance(old.kwargs, dict)
        idle = max(1, connect_timeout // 2)
        kwargs = {
            **old.kwargs,
            "connect_timeout": connect_timeout,
            "keepalives": 1,
            "keepalives_idle": idle,
            "keepalives_interval": 1,
            "keepalives_count": max(1, connect_timeout - idle),
            "tcp_user_timeout": connect_timeout * 1000,
        }
        return cls(
            health=DatabaseHealth(),
            connection_class=Connection[DictRow],
            kwargs=kwargs,
            min_size=old.min_size,
            max_size=old.max_size,
            open=False,
            configure=datastore.after_connect_func(),
            timeout=timeout,
            max_waiting=old.max_waiting,
            max_lifetime=old.max_lifetime,
            name=old.name,
        )

    def getconn(self, timeout: float | None = None) -> Connection[DictRow]:
        probe = self.health.admit()
        try:
            conn = super().getconn(timeout)
        except PoolTimeout:
            waited = self.timeout if timeout is None else timeout
            reason = f"no database connection within {waited:g} s"
            self.health.failed(reason)
            raise DatabaseUnavailableError(reason) from None
        except PoolClosed:
            raise DatabaseUnavailableError("the database pool is closed") from None
        finally:
            if probe:
                self.health.probe_done()
        self.health.succeeded()
        return conn

    def putconn(self, conn: Connection[DictRow]) -> None:
        lost = conn.broken
        super().putconn(conn)
        if lost and not self.closed:
            # The server (or the network to it) went away: the idle connections are
            # most likely dead too, and each would fail one more caller.
            self.drain()

    def interrupt(self, reason: str) -> None:
        """Refuse every caller from now on, and fail those waiting for a connection."""
        self.health.close(reason)
        self._fail_waiting(reason)

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        self._fail_waiting("the database pool is closing")
        super().close(timeout)

    def _connect(self, timeout: float | None = None) -> Connection[DictRow]:
        try:
            conn = super()._connect(timeout)
        except Exception as exc:
            reason = first_line(exc)
            log.debug("connecting to the database failed: %s", reason)
            self.health.failed(reason)
            self._fail_waiting(reason)
            raise
        self.health.succeeded()
        return conn

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        super()._add_connection(attempt or _Attempt(timeout=self.reconnect_timeout), growing)

    def _fail_waiting(self, reason: str) -> None:
        """Wake every caller waiting for a connection with the error (psycopg_pool
        would let each wait out its timeout)."""
        queue = getattr(self, "_waiting", None)
        if queue is None:  # another psycopg_pool: callers wait out the timeout instead
            return
        with self._lock:
            waiting = list(queue)
            queue.clear()
        for client in waiting:
            client.fail(DatabaseUnavailableError(reason))
