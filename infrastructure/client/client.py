"""``ConfigClient``: what a service embeds to read its configuration.

It holds one environment's current values in memory as typed area models (a read is a
dictionary lookup), follows the log so they stay current, applies environment-variable
overrides, delivers changes to subscribers, and keeps a last-known-good copy on disk to
start from when the store is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from domain.address import Address
from domain.areas.base import SINGLETON_KEY, AreaModel
from domain.effective import Effective
from domain.entry import Provenance
from domain.environment import EntryState
from domain.errors import NotFoundError
from domain.stored import EntryProblem
from infrastructure.client.lkg import LastKnownGood
from infrastructure.client.remote import HttpBackend
from infrastructure.client.subscriptions import Subscription, async_feed
from infrastructure.errors import StorageError
from infrastructure.projection.tolerant import BrokenRow
from infrastructure.settings import DEFAULTS
from infrastructure.store import ConfigStore
from infrastructure.store.follower import LogFollower
from infrastructure.store.views import WriteResult
from projections.live import LiveChange, LiveView
from projections.records import LogRecord

log = logging.getLogger("conduit_config.client")
M = TypeVar("M", bound=AreaModel)
LKG_INTERVAL_SECONDS = 1.0
RECONNECT_SECONDS = 2.0


@dataclass(frozen=True)
class ClientStatus:
    """Where the client is: its position, and whether it is following the store."""

    environment: str
    position: int
    connected: bool
    stale: bool
    last_error: str | None
    #: Entries not served because their stored value is not valid under the current
    #: rules or cannot be decoded (each is also logged as a warning).
    problems: tuple[EntryProblem, ...] = ()


class AreaManager(Generic[M]):
    """Typed access to one area; every read is an in-memory lookup."""

    def __init__(self, client: ConfigClient, model: type[M]) -> None:
        self._view = client.view
        self.area = model.area_name
        self._singleton = model.singleton

    @property
    def current(self) -> M:
        """The singleton area's value (defaults when nothing is stored).

        Raises :class:`NotFoundError` for a keyed area: use :meth:`get` or :meth:`all`.
        """
        value = self._view.get(self.area)
        if value is None:
            if not self._singleton:
                raise NotFoundError(f"area {self.area!r} is keyed: use get(key) or all()")
            raise NotFoundError(f"{self.area}/default holds no valid value (see the log)")
        return value  # type: ignore[return-value]

    def get(self, key: str) -> M | None:
        """One entry of a keyed area, or ``None``."""
        return self._view.get(self.area, key)  # type: ignore[return-value]

    def all(self) -> Mapping[str, M]:
        """Every entry of the area, key -> value (a read-only snapshot)."""
        return self._view.area(self.area)  # type: ignore[return-value]


class ConfigClient:
    """A live, typed view of one environment. Build it with :func:`connect`."""

    def __init__(
        self,
        *,
        view: LiveView,
        lkg: LastKnownGood | None,
        actor: str,
        stack: ExitStack,
        connect_timeout: int = DEFAULTS.connect_timeout,
    ) -> None:
        self.view = view
        self._connect_timeout = connect_timeout
        self.environment = view.environment
        self._lkg = lkg
        self._actor = actor
        self._stack = stack
        self._store: ConfigStore | None = None
        self._remote: HttpBackend | None = None
        self._follower: LogFollower | None = None
        self._lock = threading.Lock()
        self._moved = threading.Condition()
        self._subscriptions: list[Subscription] = []
        self._last_error: str | None = None
        self._stale = False
        self._lkg_saved = 0.0
        self._pending_save: threading.Timer | None = None

    # -- reads -------------------------------------------------------------------------
    def manager(self, area: type[M]) -> AreaManager[M]:
        """Typed access to ``area`` (an area model class)."""
        self.view.registry.get(area.area_name)
        return AreaManager(self, area)

    def get(self, area: str, key: str = SINGLETON_KEY) -> AreaModel | None:
        """The typed value of ``area``/``key`` by name, or ``None``."""
        return self.view.get(area, key)

    def effective(self, area: str, key: str = SINGLETON_KEY) -> Effective:
        """The value and the source (env, store, default) of each field."""
        with self._lock:
            return self.view.effective(area, key)

    @property
    def position(self) -> int:
        """The last log position applied."""
        return self.view.position

    def status(self) -> ClientStatus:
        """Position, connection and staleness (stale: serving the last-known-good copy
        and not yet caught up with the store)."""
        attached = self._store is not None or self._remote is not None
        connected = attached and self._last_error is None
        with self._lock:
            problems = tuple(self.view.problems())
        return ClientStatus(
            self.environment, self.position, connected, self._stale, self._last_error, problems
        )

    def wait_for(self, position: int, timeout: float = 10.0) -> None:
        """Block until ``position`` is applied; raises :class:`StorageError` on timeout."""
        with self._moved:
            if not self._moved.wait_for(lambda: self.view.position >= position, timeout):
                raise StorageError(
                    f"position {position} not reached within {timeout:g}s (at {self.view.position})"
                )

    # -- subscriptions -----------------------------------------------------------------
    def on_change(
        self,
        callback: Callable[[LiveChange], Any],
        *,
        area: str | None = None,
        key: str | None = None,
    ) -> Subscription:
        """Call ``callback`` with every later change (of ``area``/``key``), in log order."""
        subscription = Subscription(callback, area=area, key=key, on_close=self._forget)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    async def changes(
        self, *, area: str | None = None, key: str | None = None
    ) -> AsyncIterator[LiveChange]:
        """``async for change in client.changes(area="router")``: every later change."""
        target: asyncio.Queue[LiveChange] = asyncio.Queue()
        feed = async_feed(asyncio.get_running_loop(), target)
        with self.on_change(feed, area=area, key=key):
            while True:
                yield await target.get()

    def _forget(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    # -- writes ------------------------------------------------------------------------
    def set(self, area: str, key: str, value: Any, **options: Any) -> WriteResult:
        """Replace an entry's stored fields; ``reason=``, ``expected_version=``."""
        return self._command("set", area, key, value, **options)

    def patch(self, area: str, key: str, merge: Any, **options: Any) -> WriteResult:
        """Merge an RFC 7396 patch into an entry."""
        return self._command("patch", area, key, merge, **options)

    def rollback(self, area: str, key: str, **options: Any) -> WriteResult:
        """Roll an entry back: ``to_version=`` or ``to_time=``, ``reason=``."""
        return self._command("rollback", area, key, **options)

    def _command(self, name: str, area: str, key: str, *args: Any, **options: Any) -> WriteResult:
        reason = options.pop("reason", None)
        who = Provenance.checked(
            actor=self._actor, reason=reason, source="client", correlation_id=str(uuid.uuid4())
        )
        address = Address(self.environment, area, key)
        if self._remote is not None:
            return self._remote.write(name, address, *args, provenance=who, **options)
        if self._store is None:
            raise StorageError("the store is unreachable; writes need it")
        result: WriteResult = getattr(self._store, name)(address, *args, provenance=who, **options)
        return result

    # -- following ---------------------------------------------------------------------
    def attach(self, store: ConfigStore) -> None:
        """Follow ``store`` from the current position (after start or a reconnection)."""
        self._store = store
        follower = LogFollower(
            store=store,
            position=lambda: self.view.position,
            apply=self._apply,
            on_error=self._error,
            on_broken=self._broken,
            connect_timeout=self._connect_timeout,
        )
        follower.catch_up()
        self._follower = follower
        follower.start()
        self._save_copy(force=True)  # a copy exists even if no change ever comes

    def mark_unreachable(self, reason: str) -> None:
        """Started from the last-known-good copy: stale until the store answers."""
        self._last_error, self._stale = reason, True

    def _error(self, exc: BaseException | None) -> None:
        self._last_error = None if exc is None else f"{type(exc).__name__}: {exc}"
        if exc is None:
            self._stale = False  # following the store again: caught up from here on

    def attach_remote(self, backend: HttpBackend) -> None:
        """Follow a server's change stream from the current position."""
        self._remote = backend
        self._stack.callback(backend.close)
        backend.follow(
            self.environment,
            position=lambda: self.view.position,
            apply=self._apply_state,
            on_error=self._error,
        )

    def _apply_state(self, entry: EntryState, event: str) -> None:
        with self._lock:
            change = self.view.apply_state(entry, event)
            self._deliver([change] if change is not None else [])
        self._moved_on()

    def _apply(self, records: list[LogRecord], last: int) -> None:
        with self._lock:
            self._deliver([c for r in records if (c := self.view.apply(r)) is not None])
            self.view.advance_to(last)
        self._moved_on()

    def _broken(self, row: BrokenRow) -> None:
        """An event of the log that does not decode: its entry stops being served."""
        with self._lock:
            change = None
            if row.environment == self.environment:
                change = self.view.apply_broken(
                    row.area, row.key, row.version, row.position, row.problem
                )
            self.view.advance_to(row.position)
            self._deliver([change] if change is not None else [])
        self._moved_on()

    def _deliver(self, changes: list[LiveChange]) -> None:
        """Queue changes to their subscribers (under the lock, so that a change is queued
        before ``wait_for`` can see its position, and in log order)."""
        for change in changes:
            for subscription in self._subscriptions:
                if subscription.wants(change):
                    subscription.deliver(change)

    def _moved_on(self) -> None:
        with self._moved:
            self._moved.notify_all()
        self._save_copy(force=False)

    def _save_copy(self, *, force: bool) -> None:
        if self._lkg is None:
            return
        wait = LKG_INTERVAL_SECONDS - (time.monotonic() - self._lkg_saved)
        if wait > 0 and not force:
            self._save_later(wait)  # at most one save a second, but never left behind
            return
        with self._lock:
            position, state = self.view.position, dict(self.view.state)
        try:
            self._lkg.save(self.environment, position, state)
            self._lkg_saved = time.monotonic()
        except OSError as exc:
            log.warning("cannot write the last-known-good copy %s: %s", self._lkg.path, exc)

    def _save_later(self, delay: float) -> None:
        with self._lock:
            if self._pending_save is not None:
                return
            timer = threading.Timer(delay, self._save_pending)
            timer.daemon = True
            self._pending_save = timer
        timer.start()

    def _save_pending(self) -> None:
        with self._lock:
            self._pending_save = None
        self._save_copy(force=True)

    def close(self) -> None:
        """Stop following, save the last-known-good copy, close subscriptions."""
        with self._lock:
            pending, self._pending_save = self._pending_save, None
        if pending is not None:
            pending.cancel()
        if self._follower is not None:
            self._follower.stop()
        if self._store is not None or self._remote is not None:
            self._save_copy(force=True)
        for subscription in list(self._subscriptions):
            subscription.close()
        self._stack.close()
        if self._follower is not None:
            self._follower.stop()  # one a reconnection attached while the stack closed

    def __enter__(self) -> ConfigClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
