"""Bounded behaviour while the database is unreachable.

:class:`DatabaseHealth` is a small circuit breaker shared by every user of one pool:
after a failure to reach the database, callers fail at once for a second, then one
caller at a time probes. :func:`retry_lost_connection` replaces eventsourcing's retries
(ten attempts, each waiting up to the pool timeout) with a few quick ones that are made
only for a lost connection and never once the database is known to be down.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError
from psycopg_pool import PoolTimeout

from infrastructure.retry import LOST_CONNECTION

#: Seconds callers fail at once after a failure, before one of them probes again.
COOLDOWN_SECONDS = 1.0
# Connection exceptions (class 08) and the server going away (57P01-57P03).
_LOST_STATES = ("08", "57P01", "57P02", "57P03")

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class DatabaseUnavailableError(PersistenceError):
    """The database cannot be reached now (known from a recent failure, or no
    connection came within the pool timeout). Not an ``OperationalError``, so that
    eventsourcing's own retries give up at once."""


class DatabaseHealth:
    """Whether the database answered lately, shared by every user of one pool.

    A failure (:meth:`failed`) makes :meth:`admit` refuse callers for
    ``cooldown`` seconds; then it lets one caller through at a time (the probe) until
    something succeeds (:meth:`succeeded`). Thread-safe; the healthy path takes no lock.
    """

    def __init__(
        self, *, cooldown: float = COOLDOWN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failed_at: float | None = None
        self._reason = ""
        self._probing = False
        self._closing: str | None = None

    def admit(self) -> bool:
        """Let a caller use the database; ``True`` when it is the probe (it must call
        :meth:`probe_done`). Raises :class:`DatabaseUnavailableError` while the database
        is known to be down or the process is shutting down."""
        if self._failed_at is None and self._closing is None:
            return False
        with self._lock:
            if self._closing is not None:
                raise DatabaseUnavailableError(self._closing)
            if self._failed_at is None:
                return False
            if self._probing or self._clock() - self._failed_at < self._cooldown:
                raise DatabaseUnavailableError(self._reason)
            self._probing = True
            return True

    def probe_done(self) -> None:
        """The probe has its answer (recorded with :meth:`failed` or :meth:`succeeded`)."""
        with self._lock:
            self._probing = False

    def failed(self, reason: str) -> None:
        """The database could not be reached."""
        with self._lock:
            self._failed_at = self._clock()
            self._reason = reason

    def succeeded(self) -> None:
        """The database answered."""
        if self._failed_at is None:
            return
        with self._lock:
            self._failed_at = None

    def close(self, reason: str) -> None:
        """Refuse every caller from now on (the process is stopping)."""
        with self._lock:
            self._closing = reason

    @property
    def down(self) -> str | None:
        """Why the database is down (its last failure and no success since), or ``None``."""
        if self._closing is not None:
            return self._closing
        return self._reason if self._failed_at is not None else None


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (eventsourcing's or psycopg's) says the connection to the
    database failed, rather than the database refusing a statement."""
    cause = exc.__cause__ if isinstance(exc, PersistenceError) else exc
    if isinstance(exc, DatabaseUnavailableError) or isinstance(cause, PoolTimeout):
        return True
    if isinstance(exc, InterfaceError) or isinstance(cause, psycopg.InterfaceError):
        return True
    if not isinstance(cause, psycopg.OperationalError):
        return False
    state = cause.sqlstate
    return state is None or state.startswith(_LOST_STATES)


def call_retrying_lost(call: Callable[[int], T]) -> T:
    """``call(attempt)``, called again (as :data:`LOST_CONNECTION` says) while its
    connection is lost; any other error, the last attempt's, or the database known to
    be down (:class:`DatabaseUnavailableError`), is raised at once."""
    for attempt in LOST_CONNECTION.tries():
        try:
            return call(attempt)
        except (InterfaceError, OperationalError) as exc:
            if LOST_CONNECTION.is_last(attempt) or not connection_lost(exc):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def retry_lost_connection(func: F) -> F:
    """``func``, called again when its connection was lost (see
    :func:`call_retrying_lost`)."""

    @functools.wraps(func)
    def attempt(*args: Any, **kwargs: Any) -> Any:
        return call_retrying_lost(lambda _: func(*args, **kwargs))

    return cast(F, attempt)


def undecorated(method: Callable[..., Any]) -> Callable[..., Any]:
    """A library method without its retry decorator (``functools.wraps`` keeps it)."""
    inner: Callable[..., Any] = getattr(method, "__wrapped__", method)
    return inner
