"""Group commit: concurrent appends combined into one transaction.

The first caller to find no append in flight leads: it takes every request waiting at
that moment, appends them in one round trip and hands each its own outcome. If more
arrived meanwhile, the oldest of them leads the next group. Alone, a caller leads its
own one-request group at once, so a single writer waits for nobody.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eventsourcing.persistence import OperationalError, StoredEvent


@dataclass(eq=False)  # the queue tells requests apart by identity
class AppendRequest:
    """One caller's events and where their entries live; filled in by the leader."""

    events: Sequence[StoredEvent]
    rows: Sequence[tuple[str | None, str | None, str | None]]  # environment, area, key
    positions: list[int] | None = None
    error: BaseException | None = None
    leads: bool = False
    done: threading.Event = field(default_factory=threading.Event)


#: Appends a group; sets ``positions`` (or leaves ``None`` for a conflicting request).
GroupAppend = Callable[[list[AppendRequest]], None]


class GroupCommitter:
    """Combines concurrent :class:`AppendRequest` s; at most ``max_events`` per group."""

    def __init__(self, append: GroupAppend, *, max_events: int = 2000) -> None:
        self._append = append
        self._max_events = max_events
        self._lock = threading.Lock()
        self._waiting: list[AppendRequest] = []
        self._leading = False

    def submit(self, request: AppendRequest) -> AppendRequest:
        """Append ``request`` (alone or with others) and return it with its outcome."""
        with self._lock:
            self._waiting.append(request)
            request.leads = not self._leading
            self._leading = True
        if not request.leads:
            try:
                request.done.wait()  # appended by a leader, or made the next leader
            except BaseException:
                self._abandon(request)
                raise
        if request.leads:
            self._lead()
        return request

    def _abandon(self, request: AppendRequest) -> None:
        """An interrupted waiter leaves the queue; if it was to lead, the next one does."""
        with self._lock:
            if request in self._waiting:
                self._waiting.remove(request)
                if request.leads:
                    self._hand_off_locked()

    def _lead(self) -> None:
        group: list[AppendRequest] = []
        try:
            group = self._take()
            self._append(group)
        except Exception as exc:  # every member learns why its append failed
            for member in group:
                member.error = exc
        except BaseException:
            for member in group:
                member.error = OperationalError("the appending thread was interrupted")
            raise
        finally:
            for member in group:
                member.leads = False
                member.done.set()
            with self._lock:
                self._hand_off_locked()

    def _hand_off_locked(self) -> None:
        if self._waiting:
            successor = self._waiting[0]
            successor.leads = True
            successor.done.set()
        else:
            self._leading = False

    def _take(self) -> list[AppendRequest]:
        with self._lock:
            group: list[AppendRequest] = []
            count = 0
            while self._waiting and (not group or count < self._max_events):
                member = self._waiting.pop(0)
                group.append(member)
                count += len(member.events)
            return group
