"""A bounded shutdown for ``serve``: uvicorn's server returning after a signal, and a
watchdog that makes the process exit in time whatever is still running."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import uvicorn
from uvicorn.server import HANDLED_SIGNALS

from infrastructure.embedded import stop_started

log = logging.getLogger("conduit_config.http")
#: After the requests' time, the seconds left for stopping threads, closing the pool
#: and releasing the embedded PostgreSQL; then the process exits whatever still runs.
EXIT_GRACE_SECONDS = 3.0


class ShutdownWatchdog:
    """Bounds a shutdown: ``requests_seconds`` after the signal, calls to the database
    fail at once (``interrupt``); :data:`EXIT_GRACE_SECONDS` later the process exits
    (status 1), releasing the embedded PostgreSQL first."""

    def __init__(self, *, requests_seconds: float, interrupt: Callable[[], None]) -> None:
        self._requests_seconds = requests_seconds
        self._interrupt = interrupt
        self._started = threading.Event()

    def start(self) -> None:
        """Start counting (the first call only)."""
        if not self._started.is_set():
            self._started.set()
            threading.Thread(target=self._run, name="shutdown-watchdog", daemon=True).start()

    def _run(self) -> None:
        timer = threading.Event()  # never set: the process exiting ends the wait
        timer.wait(self._requests_seconds)
        try:
            self._interrupt()
        except Exception:  # the deadline below holds all the same
            log.exception("interrupting database calls on shutdown failed")
        timer.wait(EXIT_GRACE_SECONDS)
        log.error(
            "shutdown still running %g s after the signal: exiting now",
            self._requests_seconds + EXIT_GRACE_SECONDS,
        )
        stop_started()
        logging.shutdown()
        os._exit(1)


class SignalledServer(uvicorn.Server):
    """uvicorn's server, telling ``on_exit`` of the first signal, and returning after a
    signal instead of raising it again (which would end the process before the store
    is closed and the embedded PostgreSQL released)."""

    def __init__(self, config: uvicorn.Config, *, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
