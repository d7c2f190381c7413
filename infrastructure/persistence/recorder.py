"""Application recorder that appends events and their index rows in one round trip.

The index row ``(position, entry, version, recorded_at, address, event type)`` is inserted
after the table lock is taken, with one database-clock instant per transaction, so
``recorded_at`` grows with ``position`` and an ``--as-of`` read sees all of a multi-entry
write or none of it (reads of the last milliseconds wait for the append in flight:
``EventIndex.settle``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    Notification,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.errors import VersionConflictError
from infrastructure.persistence.append_sql import AUDIT_KEY_MESSAGE, GUARD_MESSAGE
from infrastructure.persistence.audit import AuditKey, key_refused
from infrastructure.persistence.group import AppendRequest, GroupCommitter
from infrastructure.persistence.outage import (
    call_retrying_lost,
    retry_lost_connection,
    undecorated,
)

INDEX_TABLE = "cc_event_index"
#: The events table of the ``ConduitConfig`` application (eventsourcing names it).
EVENTS_TABLE = "conduitconfig_events"


class EnvironmentMovedError(VersionConflictError):
    """A guarded multi-entry write found newer events of its environment."""

    def __init__(self, environment: str, position: int) -> None:
        super().__init__(
            f"environment {environment!r}",
            expected=None,
            current=None,
            detail=f"environment {environment!r} changed after position {position}",
        )
        self.environment = environment
        self.position = position


class IndexingRecorder(PostgresApplicationRecorder):
    """Appends events in one round trip through ``cc_append_v2`` (migration 6): the table
    lock, the events, their index rows (for every event whose aggregate address is passed
    to ``save``), their chain links (keyed with :attr:`audit_key` when set) and the
    NOTIFY, in one implicit transaction. Raises :class:`AuditKeyError` when the log's
    head link is keyed with a key other than :attr:`audit_key` (or it is ``None``).

    ``save(..., guard=(environment, position))`` makes the append fail with
    :class:`EnvironmentMovedError`, writing nothing, if the environment has events after
    ``position`` (checked under the lock).
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        if events_table_name != EVENTS_TABLE:
            raise ValueError(f"cc_append writes {EVENTS_TABLE}, not {events_table_name}")
        self._append = SQL(
            "SELECT t.r, t.p FROM {}.cc_append_v2(%s::int[], %s::uuid[], %s::bigint[], %s::text[],"
            " %s::bytea[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text, %s::bigint,"
            " %s::text, %s::bytea, %s::bytea) AS t(r, p)"
        ).format(Identifier(datastore.schema))
        self._audit: tuple[str | None, bytes | None, bytes | None] = (None, None, None)
        self._group = GroupCommitter(self._lead_group)
        self._leader_conn: psycopg.Connection[DictRow] | None = None
        self._leader_lock = threading.Lock()
        self._stored = SQL(
            "SELECT notification_id, originator_id, originator_version, state FROM {}.{}"
            " WHERE (originator_id, originator_version) IN"
            " (SELECT * FROM unnest(%s::uuid[], %s::bigint[]))"
        ).format(Identifier(datastore.schema), Identifier(EVENTS_TABLE))

    def use_audit_key(self, key: AuditKey | None) -> None:
        """Key the links of every later append with ``key`` (``None``: plain links)."""
        self._audit = (key.id, *key.pads()) if key is not None else (None, None, None)

    def _lead_group(self, group: list[AppendRequest]) -> None:
        """Append a group on the leaders' own connection: leaders take turns, so one
        connection is enough, and appends skip the pool's check-out and check-in."""
        with self._leader_lock:
            try:
                conn = self._leader_conn
                if conn is not None and (conn.closed or conn.broken):
                    self._release_locked()
                    conn = None
                if conn is None:
                    conn = self._leader_conn = self.datastore.pool.getconn()
                self._append_group(group, conn)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._release_locked()  # the pool discards a broken connection
                raise OperationalError(str(exc)) from exc

    def release(self) -> None:
        """Give the leaders' connection back to the pool (before the pool closes)."""
        with self._leader_lock:
            self._release_locked()

    def _release_locked(self) -> None:
        conn, self._leader_conn = self._leader_conn, None
        if conn is not None:
            self.datastore.pool.putconn(conn)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Append (with concurrent callers' appends when there are any), retrying a lost
        connection a few times (see :func:`call_retrying_lost`); raises
        eventsourcing's ``IntegrityError`` if a version is taken."""
        if kwargs.get("tracking") is not None:
            raise ProgrammingError("cc_append does not record tracking positions")
        if not stored_events:
            return []
        return call_retrying_lost(
            lambda attempt: self._insert(stored_events, kwargs, after_failure=attempt > 0)
        )

    @retry_lost_connection
    def select_events(self, *args: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        select = undecorated(PostgresApplicationRecorder.select_events)
        events: Sequence[StoredEvent] = select(self, *args, **kwargs)
        return events

    @retry_lost_connection
    def select_notifications(self, *args: Any, **kwargs: Any) -> Sequence[Notification]:
        select = undecorated(PostgresApplicationRecorder.select_notifications)
        notifications: Sequence[Notification] = select(self, *args, **kwargs)
        return notifications

    @retry_lost_connection
    def max_notification_id(self) -> int | None:
        found: int | None = undecorated(PostgresApplicationRecorder.max_notification_id)(self)
        return found

    def _insert(
        self,
        stored_events: Sequence[StoredEvent],
        kwargs: Mapping[str, Any],
        *,
        after_failure: bool,
    ) -> Sequence[int]:
        addresses: Mapping[Any, Address] = kwargs.get("addresses") or {}
        located = [addresses.get(e.originator_id) for e in stored_events]
        request = AppendRequest(
            stored_events,
            [(a.environment, a.area, a.key) if a else (None, None, None) for a in located],
        )
        guard: tuple[str, int] | None = kwargs.get("guard")
        try:
            if guard is None:
                self._group.submit(request)
            else:
                with self.datastore.get_connection() as conn:
                    self._append_group([request], conn, guard)
        except EnvironmentMovedError:
            if after_failure and (found := self._already_stored(stored_events)) is not None:
                return found
            raise
        if request.error is not None:
            raise request.error
        if request.positions is None:
            if after_failure and (found := self._already_stored(stored_events)) is not None:
                return found
            raise IntegrityError("version already taken: another writer appended first")
        return request.positions

    def _already_stored(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """Positions of exactly these events if an attempt whose acknowledgement was lost
        with its connection stored them after all; else ``None``."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self._stored,
                (
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                ),
            )
            found = {(r["originator_id"], r["originator_version"]): r for r in curs.fetchall()}
        positions = []
        for event in stored_events:
            row = found.get((event.originator_id, event.originator_version))
            if row is None or bytes(row["state"]) != event.state:
                return None
            positions.append(int(row["notification_id"]))
        return positions

    def _append_group(
        self,
        group: list[AppendRequest],
        conn: psycopg.Connection[DictRow],
        guard: tuple[str, int] | None = None,
    ) -> None:
        events = [(number, e) for number, r in enumerate(group) for e in r.events]
        rows = [row for r in group for row in r.rows]
        params = (
            [number for number, _ in events],
            [e.originator_id for _, e in events],
            [e.originator_version for _, e in events],
            [e.topic for _, e in events],
            [e.state for _, e in events],
            [row[0] for row in rows],
            [row[1] for row in rows],
            [row[2] for row in rows],
            [e.topic.rpartition(".")[2] for _, e in events],
            *(guard or (None, None)),
            *self._audit,
        )
        with conn.cursor() as curs:
            try:
                curs.execute(self._append, params, prepare=True)
            except psycopg.errors.RaiseException as exc:
                if guard is not None and GUARD_MESSAGE in str(exc):
                    raise EnvironmentMovedError(*guard) from None
                if AUDIT_KEY_MESSAGE in str(exc):
                    raise key_refused(str(exc), held=self._audit[0]) from None
                raise
            for member in group:
                member.positions = None
            for row in curs.fetchall():
                member = group[row["r"]]
                member.positions = [*(member.positions or []), row["p"]]
