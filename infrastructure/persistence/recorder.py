"""Application recorder that appends events and their index rows in one round trip.

The index row ``(position, entry, version, recorded_at, address, event type)`` is inserted
after the table lock is taken, with one database-clock instant per transaction, so
``recorded_at`` grows with ``position`` and an ``--as-of`` read sees exactly the
transactions committed by then (all of a multi-entry write or none of it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.errors import VersionConflictError

INDEX_TABLE = "cc_event_index"
#: The events table of the ``ConduitConfig`` application (eventsourcing names it).
EVENTS_TABLE = "conduitconfig_events"
GUARD_MESSAGE = "cc_append: environment moved"

#: One round trip per append. Holds what eventsourcing's own recorder guarantees: the
#: EXCLUSIVE table lock (positions gap-free in commit order), the NOTIFY, and our index
#: rows in the same transaction; named per schema, so applications never share it.
#: One instant per transaction (an as-of read sees all of a multi-entry write or none of
#: it), never before an earlier transaction's even if the clock steps back.
APPEND_FUNCTION = (
    "CREATE OR REPLACE FUNCTION {s}.cc_append("
    " p_ids uuid[], p_versions bigint[], p_topics text[], p_states bytea[],"
    " p_envs text[], p_areas text[], p_keys text[], p_types text[],"
    " p_guard_env text, p_guard_position bigint) RETURNS SETOF bigint"
    " LANGUAGE plpgsql AS $fn$"
    " DECLARE v_now timestamptz;"
    " BEGIN"
    "  PERFORM set_config('lock_timeout', '10s', true);"
    "  LOCK TABLE {s}.conduitconfig_events IN EXCLUSIVE MODE;"
    "  IF p_guard_env IS NOT NULL AND EXISTS (SELECT 1 FROM {s}.cc_event_index"
    "   WHERE environment = p_guard_env AND position > p_guard_position) THEN"
    "   RAISE EXCEPTION 'cc_append: environment moved';"
    "  END IF;"
    "  v_now := GREATEST(clock_timestamp(), (SELECT MAX(recorded_at) FROM {s}.cc_event_index));"
    "  PERFORM pg_notify('conduitconfig_events', '');"
    "  RETURN QUERY WITH ins AS ("
    "   INSERT INTO {s}.conduitconfig_events (originator_id, originator_version, topic, state)"
    "   SELECT u.i, u.v, u.t, u.st"
    "   FROM unnest(p_ids, p_versions, p_topics, p_states) WITH ORDINALITY AS u(i, v, t, st, n)"
    "   ORDER BY u.n RETURNING notification_id, originator_id, originator_version"
    "  ), idx AS ("
    "   INSERT INTO {s}.cc_event_index (position, entry_id, version, recorded_at,"
    "    environment, area, key, event_type)"
    "   SELECT ins.notification_id, ins.originator_id, ins.originator_version, v_now,"
    "    a.en, a.ar, a.k, a.ty"
    "   FROM ins JOIN unnest(p_ids, p_versions, p_envs, p_areas, p_keys, p_types)"
    "    AS a(i, v, en, ar, k, ty) ON a.i = ins.originator_id AND a.v = ins.originator_version"
    "   WHERE a.en IS NOT NULL"
    "  ) SELECT ins.notification_id FROM ins ORDER BY ins.notification_id;"
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
            "SELECT t.id FROM {}.cc_append(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[],"
            " %s::text[], %s::text[], %s::text[], %s::text[], %s::text, %s::bigint) AS t(id)"
        ).format(Identifier(datastore.schema))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        addresses: Mapping[Any, Address] = kwargs.get("addresses") or {}
        guard: tuple[str, int] | None = kwargs.get("guard")
        located = [addresses.get(e.originator_id) for e in stored_events]
        params = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
            [a.environment if a else None for a in located],
            [a.area if a else None for a in located],
            [a.key if a else None for a in located],
            [e.topic.rpartition(".")[2] for e in stored_events],
            *(guard or (None, None)),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            try:
                curs.execute(self._append, params, prepare=True)
            except psycopg.errors.RaiseException as exc:
                if guard is not None and GUARD_MESSAGE in str(exc):
                    raise EnvironmentMovedError(*guard) from None
                raise
            return [row["id"] for row in curs.fetchall()]


class ConduitPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory with the indexing recorder."""

    application_recorder_class = IndexingRecorder
