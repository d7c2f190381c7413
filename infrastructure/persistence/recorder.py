"""Application recorder that appends events and their index rows in one round trip.

The index row ``(position, entry, version, recorded_at, address, event type)`` is inserted
after the table lock is taken, with one database-clock instant per transaction, so
``recorded_at`` grows with ``position`` and an ``--as-of`` read sees all of a multi-entry
write or none of it (reads of the last milliseconds wait for the append in flight:
``EventIndex.settle``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import Environment, EnvType
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.errors import VersionConflictError
from infrastructure.persistence.group import AppendRequest, GroupCommitter
from infrastructure.persistence.outage import (
    RETRY_ATTEMPTS,
    RETRY_SECONDS,
    connection_lost,
    retry_lost_connection,
    undecorated,
)
from infrastructure.persistence.pool import GuardedPool

INDEX_TABLE = "cc_event_index"
#: Environment keys of :class:`ConduitPostgresFactory` (beside eventsourcing's own).
POOL_TIMEOUT_KEY = "CONDUIT_POOL_TIMEOUT"
CONNECT_TIMEOUT_KEY = "CONDUIT_CONNECT_TIMEOUT"
#: The events table of the ``ConduitConfig`` application (eventsourcing names it).
EVENTS_TABLE = "conduitconfig_events"
GUARD_MESSAGE = "cc_append: environment moved"

#: One round trip per append of a group of requests. Holds what eventsourcing's own
#: recorder guarantees: the EXCLUSIVE table lock (positions gap-free in commit order),
#: the NOTIFY, and our index rows in the same transaction; named per schema, so
#: applications never share it. One instant per transaction (an as-of read sees all of
#: a multi-entry write or none of it), never before an earlier transaction's even if the
#: clock steps back. The usual case appends everything at once; if a version is taken
#: (in the table, or by an earlier request of the group), that attempt is rolled back and
#: the requests with taken versions are left out, each failing alone.
APPEND_FUNCTION = (
    "CREATE OR REPLACE FUNCTION {s}.cc_append_v1("
    " p_reqs int[], p_ids uuid[], p_versions bigint[], p_topics text[], p_states bytea[],"
    " p_envs text[], p_areas text[], p_keys text[], p_types text[],"
    " p_guard_env text, p_guard_position bigint) RETURNS TABLE (o_req int, o_position bigint)"
    # The plan cached for the session may be made while the tables are small: the lateral
    # lookup and sequential scans off keep it probing the primary key per event instead
    # of scanning (or hashing) a table that has grown since.
    " LANGUAGE plpgsql SET enable_seqscan = off AS $fn$"
    " DECLARE v_now timestamptz; v_positions bigint[];"
    " BEGIN"
    "  PERFORM set_config('lock_timeout', '10s', true);"
    "  LOCK TABLE {s}.conduitconfig_events IN EXCLUSIVE MODE;"
    "  IF p_guard_env IS NOT NULL AND EXISTS (SELECT 1 FROM {s}.cc_event_index"
    "   WHERE environment = p_guard_env AND position > p_guard_position) THEN"
    "   RAISE EXCEPTION 'cc_append: environment moved';"
    "  END IF;"
    "  v_now := GREATEST(clock_timestamp(), (SELECT MAX(recorded_at) FROM {s}.cc_event_index));"
    "  PERFORM pg_notify('conduitconfig_events', '');"
    "  BEGIN"
    "   WITH ins AS ("
    "    INSERT INTO {s}.conduitconfig_events (originator_id, originator_version, topic, state)"
    "    SELECT u.i, u.v, u.t, u.st FROM unnest(p_ids, p_versions, p_topics, p_states)"
    "     WITH ORDINALITY AS u(i, v, t, st, n) ORDER BY u.n"
    "    RETURNING notification_id, originator_id, originator_version"
    "   ), idx AS ("
    "    INSERT INTO {s}.cc_event_index (position, entry_id, version, recorded_at,"
    "     environment, area, key, event_type)"
    "    SELECT ins.notification_id, ins.originator_id, ins.originator_version, v_now,"
    "     a.en, a.ar, a.k, a.ty"
    "    FROM ins JOIN unnest(p_ids, p_versions, p_envs, p_areas, p_keys, p_types)"
    "     AS a(i, v, en, ar, k, ty) ON a.i = ins.originator_id AND a.v = ins.originator_version"
    "    WHERE a.en IS NOT NULL"
    "   ) SELECT array_agg(ins.notification_id ORDER BY ins.notification_id)"
    "    INTO v_positions FROM ins;"
    "   RETURN QUERY SELECT * FROM unnest(p_reqs, v_positions);"
    "  EXCEPTION WHEN unique_violation THEN"
    "   RETURN QUERY WITH ev AS ("
    "    SELECT * FROM unnest(p_reqs, p_ids, p_versions, p_topics, p_states, p_envs, p_areas,"
    "     p_keys, p_types) WITH ORDINALITY AS u(r, i, v, t, st, en, ar, k, ty, n)"
    "   ), bad AS ("
    "    SELECT ev.r FROM ev CROSS JOIN LATERAL (SELECT 1 FROM {s}.conduitconfig_events e"
    "     WHERE e.originator_id = ev.i AND e.originator_version = ev.v LIMIT 1) AS taken"
    "    UNION SELECT b.r FROM ev a JOIN ev b ON a.i = b.i AND a.v = b.v"
    "     AND (a.r < b.r OR (a.r = b.r AND a.n < b.n))"
    "   ), good AS (SELECT * FROM ev WHERE ev.r NOT IN (SELECT bad.r FROM bad)), ins AS ("
    "    INSERT INTO {s}.conduitconfig_events (originator_id, originator_version, topic, state)"
    "    SELECT good.i, good.v, good.t, good.st FROM good ORDER BY good.n"
    "    RETURNING notification_id, originator_id, originator_version"
    "   ), idx AS ("
    "    INSERT INTO {s}.cc_event_index (position, entry_id, version, recorded_at,"
    "     environment, area, key, event_type)"
    "    SELECT ins.notification_id, ins.originator_id, ins.originator_version, v_now,"
    "     good.en, good.ar, good.k, good.ty"
    "    FROM ins JOIN good ON good.i = ins.originator_id AND good.v = ins.originator_version"
    "    WHERE good.en IS NOT NULL"
    "   ) SELECT good.r, ins.notification_id FROM ins"
    "    JOIN good ON good.i = ins.originator_id AND good.v = ins.originator_version"
    "    ORDER BY ins.notification_id;"
    "  END;"
    " END $fn$"
)


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
    """Appends events in one round trip through ``cc_append`` (migration 4): the table
    lock, the events, their index rows (for every event whose aggregate address is passed
    to ``save``) and the NOTIFY, in one implicit transaction.

    ``save(..., guard=(environment, position))`` makes the append fail with
    :class:`EnvironmentMovedError`, writing nothing, if the environment has events after
    ``position`` (checked under the lock).
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        if events_table_name != EVENTS_TABLE:
            raise ValueError(f"cc_append writes {EVENTS_TABLE}, not {events_table_name}")
        self._append = SQL(
            "SELECT t.r, t.p FROM {}.cc_append_v1(%s::int[], %s::uuid[], %s::bigint[], %s::text[],"
            " %s::bytea[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text, %s::bigint)"
            " AS t(r, p)"
        ).format(Identifier(datastore.schema))
        self._group = GroupCommitter(self._lead_group)
        self._leader_conn: psycopg.Connection[DictRow] | None = None
        self._leader_lock = threading.Lock()
        self._stored = SQL(
            "SELECT notification_id, originator_id, originator_version, state FROM {}.{}"
            " WHERE (originator_id, originator_version) IN"
            " (SELECT * FROM unnest(%s::uuid[], %s::bigint[]))"
        ).format(Identifier(datastore.schema), Identifier(EVENTS_TABLE))

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
        connection a few times (see :func:`retry_lost_connection`); raises
        eventsourcing's ``IntegrityError`` if a version is taken."""
        if kwargs.get("tracking") is not None:
            raise ProgrammingError("cc_append does not record tracking positions")
        if not stored_events:
            return []
        failures = 0
        while True:
            try:
                return self._insert(stored_events, kwargs, after_failure=failures > 0)
            except (InterfaceError, OperationalError) as exc:
                failures += 1
                if failures >= RETRY_ATTEMPTS or not connection_lost(exc):
                    raise
            time.sleep(RETRY_SECONDS)

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
        )
        with conn.cursor() as curs:
            try:
                curs.execute(self._append, params, prepare=True)
            except psycopg.errors.RaiseException as exc:
                if guard is not None and GUARD_MESSAGE in str(exc):
                    raise EnvironmentMovedError(*guard) from None
                raise
            for member in group:
                member.positions = None
            for row in curs.fetchall():
                member = group[row["r"]]
                member.positions = [*(member.positions or []), row["p"]]


class SnapshotRecorder(PostgresAggregateRecorder):
    """eventsourcing's recorder of snapshots, with our retries (see
    :func:`retry_lost_connection`)."""

    @retry_lost_connection
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        insert = undecorated(PostgresAggregateRecorder.insert_events)
        positions: Sequence[int] | None = insert(self, stored_events, **kwargs)
        return positions

    @retry_lost_connection
    def select_events(self, *args: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        select = undecorated(PostgresAggregateRecorder.select_events)
        events: Sequence[StoredEvent] = select(self, *args, **kwargs)
        return events


class ConduitPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory with the indexing recorder, and a
    :class:`GuardedPool` waiting ``CONDUIT_POOL_TIMEOUT`` seconds at most for a
    connection (each attempt to connect taking ``CONDUIT_CONNECT_TIMEOUT`` at most)."""

    application_recorder_class = IndexingRecorder
    aggregate_recorder_class = SnapshotRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        connect_timeout = int(self.env.get(CONNECT_TIMEOUT_KEY) or "10")
        self.datastore.pool = GuardedPool.replacing(
            self.datastore,
            timeout=float(self.env.get(POOL_TIMEOUT_KEY) or connect_timeout),
            connect_timeout=connect_timeout,
        )
