"""The one LISTEN loop: a dedicated connection that LISTENs on a channel and wakes its
owner on each NOTIFY, and after a poll interval without one (a NOTIFY sent while no
connection listened is lost), until a stop event is set.

:meth:`Listener.listen` holds one connection and raises what fails (its caller
restarts it); :meth:`Listener.follow` connects again after each failure, waiting
:data:`~infrastructure.retry.RECONNECT_BACKOFF`, until stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import psycopg
from psycopg.sql import SQL, Identifier

from infrastructure.errors import StorageError
from infrastructure.retry import RECONNECT_BACKOFF

#: What a wake does (read what is new); its result is ignored.
Wake = Callable[[], object]
#: Told of each failure of :meth:`Listener.follow`, and ``None`` once it reads again.
OnError = Callable[[BaseException | None], None]
#: Reports a failure of :meth:`Listener.follow`, and the seconds it waits to retry.
Report = Callable[[BaseException, float], None]


class StalledError(StorageError):
    """The log cannot be followed until someone acts; whoever raised it has logged why.
    :meth:`Listener.follow` retries after the longest backoff, reporting nothing."""


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Listener:
    """LISTENs on ``channel`` of the database at ``url``.

    Each connection is its own (autocommit, ``connect_timeout`` seconds to connect),
    made and used inside ``guard()``. A wait for a NOTIFY lasts ``wake_seconds`` at
    most, so that a stop is seen that soon; ``poll_seconds`` (``None``: never) wakes
    the owner without one.
    """

    url: str
    channel: str
    connect_timeout: int
    wake_seconds: float
    poll_seconds: float | None = None
    guard: Callable[[], AbstractContextManager[None]] = nullcontext

    def listen(self, stop: threading.Event, on_wake: Wake, on_ready: Wake = _nothing) -> None:
        """Connect and LISTEN, call ``on_wake()`` (for what came before) and then
        ``on_ready()``; then, until ``stop`` is set, ``on_wake()`` on each NOTIFY and
        after each ``poll_seconds`` without one. Returns within ``wake_seconds`` of
        ``stop`` (and what ``on_wake`` takes). Raises what connecting, LISTEN, waiting
        and the callbacks raise (as ``guard()`` turns it)."""
        with (
            self.guard(),
            psycopg.connect(
                self.url, autocommit=True, connect_timeout=self.connect_timeout
            ) as conn,
        ):
            conn.execute(SQL("LISTEN {}").format(Identifier(self.channel)))
            on_wake()  # after LISTEN: nothing committed since can be missed
            on_ready()
            polled = time.monotonic()
            while not stop.is_set():
                woken = any(True for _ in conn.notifies(timeout=self.wake_seconds, stop_after=1))
                if woken or self._poll_due(polled):
                    on_wake()
                    polled = time.monotonic()

    def _poll_due(self, polled: float) -> bool:
        return self.poll_seconds is not None and time.monotonic() - polled >= self.poll_seconds

    def follow(
        self, stop: threading.Event, on_wake: Wake, *, on_error: OnError, report: Report
    ) -> None:
        """:meth:`listen` until ``stop`` is set, connecting again after each failure.

        ``on_error(None)`` is called once each connection's first wake succeeded. A
        failure is told to ``on_error(exc)``, then to ``report(exc, delay)``, and waited
        out: :data:`RECONNECT_BACKOFF` by failures since the last success, or its longest
        wait for a :class:`StalledError` (not reported). Raises nothing of its own (what
        ``on_error`` and ``report`` raise propagates)."""
        failures = 0

        def ready() -> None:
            nonlocal failures
            failures = 0
            on_error(None)

        while not stop.is_set():
            try:
                self.listen(stop, on_wake, ready)
            except StalledError as exc:
                on_error(exc)
                stop.wait(RECONNECT_BACKOFF.longest_wait)
            except Exception as exc:  # the loop must not die: each failure is reported
                failures += 1
                on_error(exc)
                delay = RECONNECT_BACKOFF.delay(failures)
                report(exc, delay)
                stop.wait(delay)
