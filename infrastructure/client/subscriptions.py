"""Delivering changes to subscribers: each has its own queue and thread, so a slow or
failing callback delays only itself, and gets every change once, in log order."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from projections.live import LiveChange

log = logging.getLogger("conduit_config.client")
_CLOSE = object()


class Subscription:
    """A callback for the changes of one area (and key), or of everything.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        callback: Callable[[LiveChange], Any],
        *,
        area: str | None,
        key: str | None,
        on_close: Callable[[Subscription], None],
    ) -> None:
        self.area, self.key = area, key
        self._callback = callback
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._on_close = on_close
        self._thread = threading.Thread(target=self._run, name="config-subscriber", daemon=True)
        self._thread.start()

    def wants(self, change: LiveChange) -> bool:
        """True when the change is of this subscription's area and key."""
        return (self.area is None or self.area == change.area) and (
            self.key is None or self.key == change.key
        )

    def deliver(self, change: LiveChange) -> None:
        """Queue a change (never blocks)."""
        self._queue.put(change)

    def close(self) -> None:
        """Stop after the changes already queued; idempotent."""
        self._on_close(self)
        self._queue.put(_CLOSE)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _CLOSE:
            assert isinstance(item, LiveChange)
            try:
                self._callback(item)
            except Exception:  # a subscriber's bug must not stop its deliveries
                log.exception("subscriber %r failed on position %d", self._callback, item.position)


def async_feed(
    loop: asyncio.AbstractEventLoop, target: asyncio.Queue[LiveChange]
) -> Callable[[LiveChange], None]:
    """A callback that hands changes to an asyncio queue of ``loop``."""

    def put(change: LiveChange) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(target.put_nowait, change)

    return put
