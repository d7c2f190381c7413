"""``/readyz`` within a second, whatever the database does.

The check reads the database, so it runs in a thread of its own (never the request
thread pool, which an outage may fill); callers arriving while one runs share it. A
check that has not answered within ``timeout`` seconds answers 503, and a database
known to be down answers 503 at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future

from starlette.responses import Response

from infrastructure.http.problems import problem

READY_SECONDS = 0.8


class ReadinessCheck:
    """Runs ``check`` (at most one at a time) for ``/readyz``; ``down`` says why the
    database is known to be unreachable (``None`` when it is not)."""

    def __init__(
        self,
        *,
        check: Callable[[], Response],
        down: Callable[[], str | None],
        timeout: float = READY_SECONDS,
    ) -> None:
        self._check = check
        self._down = down
        self._timeout = timeout
        self._lock = threading.Lock()
        self._running: Future[Response] | None = None

    async def answer(self) -> Response:
        """The check's response, or 503 when the database is known down or the check
        takes longer than the timeout."""
        reason = self._down()
        if reason is not None:
            return problem(503, f"database unreachable: {reason}")
        running = asyncio.wrap_future(self._start())
        try:
            return await asyncio.wait_for(asyncio.shield(running), self._timeout)
        except TimeoutError:
            return problem(
                503, f"the readiness check did not answer within {self._timeout:g} s (database)"
            )

    def _start(self) -> Future[Response]:
        with self._lock:
            if self._running is None or self._running.done():
                self._running = Future()
                threading.Thread(
                    target=self._run, args=(self._running,), name="readiness", daemon=True
                ).start()
            return self._running

    def _run(self, future: Future[Response]) -> None:
        try:
            future.set_result(self._check())
        except Exception as exc:  # reported by the waiting request, never lost
            future.set_exception(exc)
