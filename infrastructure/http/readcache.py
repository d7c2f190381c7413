"""Current entries the server has read, kept until the log says they changed.

A follower reads every event after the cache's position (LISTEN/NOTIFY) and drops the
entries they touch; a write through this server drops its entry at once. A read that
raced with a change is not kept: each drop bumps a generation, and a read only stores
its result when its entry was not dropped since the read began.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from domain.address import Address
from infrastructure.persistence.errors import storage_errors
from infrastructure.store import ConfigStore
from infrastructure.store.follower import LogFollower
from infrastructure.store.views import EntryView
from projections.digest import StateDigest
from projections.records import LogRecord

Key = tuple[str, str, str]


class ReadCache:
    """An LRU of current :class:`EntryView`s, at most ``size`` entries; its follower
    waits ``connect_timeout`` seconds at most for a database connection."""

    def __init__(self, *, store: ConfigStore, size: int, connect_timeout: int) -> None:
        self._store = store
        self._size = size
        self._views: OrderedDict[Key, EntryView] = OrderedDict()
        self._dropped: dict[Key, int] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._reading: dict[int, int] = {}  # generation a read began at -> reads in flight
        self._following = False
        self._connect_timeout = connect_timeout
        # Where it has followed to and what it has seen there (for the cluster's
        # consistency check): read when it starts, so building the app reads nothing.
        self._position = 0
        self._digest = StateDigest()
        self._applied_lock = threading.Lock()
        self._follower: LogFollower | None = None

    @property
    def connect_timeout(self) -> int:
        """Seconds its follower waits for each connection to the database."""
        return self._connect_timeout

    @property
    def started(self) -> bool:
        """Whether it follows the log (between :meth:`start` and :meth:`stop`)."""
        return self._follower is not None

    def start(self) -> None:
        """Start following the log from its head now, with a new follower each time (an
        app may start again after a stop). Raises :class:`StorageError`."""
        with storage_errors():
            position = self._store.index.head()
            digest = self._store.index.digest_at(position)
        with self._applied_lock:
            self._position, self._digest = position, digest
        self._follower = LogFollower(
            store=self._store,
            position=lambda: self._position,
            apply=self._apply,
            on_error=self._connection,
            connect_timeout=self._connect_timeout,
        )
        self._follower.start()

    def stop(self) -> None:
        """Stop following (and forget everything)."""
        if self._follower is not None:
            self._follower.stop()
            self._follower = None
        with self._lock:
            self._following = False
            self._views.clear()

    def get(self, address: Address) -> EntryView:
        """The current entry, from memory when it has not changed since it was read.

        Raises what :meth:`ConfigStore.get` raises.
        """
        key = (address.environment, address.area, address.key)
        with self._lock:
            view = self._views.get(key)
            if view is not None:
                self._views.move_to_end(key)
                return view
            began = self._generation
            self._reading[began] = self._reading.get(began, 0) + 1
        try:
            view = self._store.get(address)
        finally:
            with self._lock:
                self._reading[began] -= 1
                if not self._reading[began]:
                    del self._reading[began]
        with self._lock:
            if self._following and self._dropped.get(key, -1) < began and self._size:
                self._views[key] = view
                if len(self._views) > self._size:
                    self._views.popitem(last=False)
        return view

    def applied(self) -> tuple[int, str]:
        """The log position this server has followed to, and its state digest there."""
        with self._applied_lock:
            return self._position, self._digest.hexdigest()

    def drop(self, address: Address) -> None:
        """Forget an entry (after a write through this server)."""
        self._drop([(address.environment, address.area, address.key)])

    def _apply(self, records: list[LogRecord], last: int) -> None:
        self._drop([(r.environment, r.area, r.key) for r in records])
        with self._applied_lock:
            self._digest.apply(records)
            self._position = last

    def _connection(self, error: BaseException | None) -> None:
        """While the follower is cut off, changes may go unseen: serve from the store."""
        with self._lock:
            self._following = error is None
            if error is not None:
                self._views.clear()

    def _drop(self, keys: list[Key]) -> None:
        with self._lock:
            self._generation += 1
            for key in keys:
                self._views.pop(key, None)
                self._dropped[key] = self._generation
            if len(self._dropped) > 4 * max(self._size, 1000):
                # A mark only matters to reads that began before it.
                floor = min(self._reading, default=self._generation)
                self._dropped = {k: g for k, g in self._dropped.items() if g >= floor}
