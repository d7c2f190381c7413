"""Leader election on a PostgreSQL advisory lock held by a dedicated connection.

The lock belongs to the connection's session, so it is released when the leader's
process dies (the kernel closes its socket) or its connection is cut. Followers try to
take it every ``poll_seconds``. PostgreSQL notices a leader whose host vanished without
closing its socket through TCP keepalives, which this connection sets to give up after
about ``timeout_seconds``.

Leadership decides who *runs* the background work; correctness does not depend on it:
projections lock their position rows and scheduled changes are optimistic, so a leader
that has not yet noticed it lost its connection can do nothing twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

from infrastructure.persistence.errors import first_line
from infrastructure.retry import RECONNECT_BACKOFF
from infrastructure.settings import DEFAULTS

log = logging.getLogger("conduit_config.cluster")

# Two-key advisory locks live apart from the one-key lock of migrations.
_LOCK_CLASS = "conduit-config leader"


class LeaderElection:
    """A thread that takes the leader lock when it can and keeps it while connected.

    ``on_elected`` and ``on_demoted`` run on the election thread; ``on_demoted`` runs
    before the lock is released on :meth:`stop`, so the old leader's work has stopped
    before another instance can start it.
    """

    def __init__(
        self,
        *,
        url: str,
        schema: str,
        name: str,
        poll_seconds: float,
        timeout_seconds: int,
        on_elected: Callable[[], None],
        on_demoted: Callable[[], None],
        connect_timeout: int = DEFAULTS.connect_timeout,
    ) -> None:
        self._url = url
        self._schema = schema
        self._name = name
        self._poll = poll_seconds
        self._timeout = timeout_seconds
        self._on_elected = on_elected
        self._on_demoted = on_demoted
        self._connect_timeout = connect_timeout
        self._leader = False
        self._stop = threading.Event()
        self._resign = threading.Event()
        self._hold_off = 0.0
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)

    @property
    def is_leader(self) -> bool:
        """Whether this instance holds the lock (as of its last check)."""
        return self._leader

    @property
    def connect_timeout(self) -> int:
        """Seconds it waits for its connection to the database."""
        return self._connect_timeout

    def start(self) -> None:
        """Start competing for the lock."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the leader's work, then release the lock (or stop trying)."""
        self._stop.set()
        self._thread.join(timeout=self._connect_timeout + 30)

    def resign(self, *, hold_off_seconds: float) -> None:
        """Step down if leading (work stops, then the lock goes with the connection) and
        do not compete again for ``hold_off_seconds``, so that another instance leads."""
        self._hold_off = hold_off_seconds
        self._resign.set()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        idle = max(1, self._timeout // 2)
        count = max(1, self._timeout - idle)
        conn = psycopg.connect(
            self._url,
            autocommit=True,
            connect_timeout=self._connect_timeout,
            application_name=f"conduit-config leader election {self._name}"[:63],
            keepalives=1,
            keepalives_idle=idle,
            keepalives_interval=1,
            keepalives_count=count,
            # A check blocked on unacknowledged data fails after this, not after the
            # kernel's retransmissions (a quarter of an hour).
            tcp_user_timeout=self._timeout * 1000,
        )
        try:
            # The server's side of the same bound: it drops a silent leader, freeing the lock.
            for name, value in (
                ("tcp_keepalives_idle", idle),
                ("tcp_keepalives_interval", 1),
                ("tcp_keepalives_count", count),
                ("tcp_user_timeout", self._timeout * 1000),
            ):
                conn.execute(f"SET {name} = {int(value)}")
        except psycopg.Error:
            conn.close()
            raise
        return conn

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    failures = 0
                    try:
                        self._hold(conn)
                    finally:
                        self._set(leader=False)  # the work stops before the lock goes
                if self._resign.is_set():
                    self._resign.clear()
                    log.warning(
                        "%s stepped down; not competing for %gs", self._name, self._hold_off
                    )
                    self._stop.wait(self._hold_off)
            except (psycopg.Error, OSError) as exc:
                failures += 1
                delay = RECONNECT_BACKOFF.delay(failures)
                log.warning("leader election: %s; retrying in %.1fs", first_line(exc), delay)
                self._stop.wait(delay)

    def _hold(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        """Try for the lock until stopped (or resigning); once held, check the
        connection each poll."""
        while not self._stop.is_set() and not self._resign.is_set():
            if self._leader:
                conn.execute("SELECT 1")
            else:
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))",
                    (_LOCK_CLASS, self._schema),
                ).fetchone()
                if row is not None and row[0]:
                    self._set(leader=True)
            self._stop.wait(self._poll)

    def _set(self, *, leader: bool) -> None:
        if leader == self._leader:
            return
        self._leader = leader
        log.info("this instance (%s) is now %s", self._name, "leader" if leader else "follower")
        callback = self._on_elected if leader else self._on_demoted
        try:
            callback()
        except Exception:  # the election must go on; the callback logs its own detail
            log.exception("leader %s callback failed", "election" if leader else "demotion")
