"""Application recorder that also writes the event index in the same transaction.

The index row ``(position, entry, version, recorded_at, address, event type)`` is inserted
after the table lock is taken, with one database-clock instant per transaction, so
``recorded_at`` grows with ``position`` and an ``--as-of`` read sees exactly the
transactions committed by then (all of a multi-entry write or none of it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.errors import VersionConflictError

INDEX_TABLE = "cc_event_index"


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
    """Writes index rows for every event whose aggregate address is passed to ``save``."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        # One instant per transaction (an as-of read sees all of a multi-entry write or
        # none of it), never before an earlier transaction's even if the clock steps back.
        self._insert_index = SQL(
            "WITH now AS MATERIALIZED (SELECT GREATEST(clock_timestamp(),"
            " (SELECT MAX(recorded_at) FROM {0}.{1})) AS ts)"
            " INSERT INTO {0}.{1} (position, entry_id, version, recorded_at,"
            " environment, area, key, event_type)"
            " SELECT p, e, v, now.ts, en, ar, k, t FROM unnest("
            "%s::bigint[], %s::uuid[], %s::bigint[], %s::text[], %s::text[], %s::text[],"
            " %s::text[]) AS u(p, e, v, en, ar, k, t), now"
        ).format(Identifier(datastore.schema), Identifier(INDEX_TABLE))
        self._moved = SQL(
            "SELECT EXISTS (SELECT 1 FROM {}.{} WHERE environment = %s AND position > %s)"
        ).format(Identifier(datastore.schema), Identifier(INDEX_TABLE))

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """With ``guard=(environment, position)``: take the table lock first, then refuse
        (rolling back) if the environment has events after ``position``."""
        super()._insert_events(curs, stored_events, **kwargs)
        guard: tuple[str, int] | None = kwargs.get("guard")
        if guard is None:
            return
        self._lock_table(curs)
        curs.execute(self._moved, guard)
        row = curs.fetchone()
        if row is not None and next(iter(row.values())):
            raise EnvironmentMovedError(*guard)

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        addresses: Mapping[Any, Address] = kwargs.get("addresses") or {}
        if ids and addresses:
            columns: list[list[Any]] = [[], [], [], [], [], [], []]
            for position, event in zip(ids, stored_events, strict=True):
                address = addresses.get(event.originator_id)
                if address is None:
                    continue
                row = (
                    position,
                    event.originator_id,
                    event.originator_version,
                    address.environment,
                    address.area,
                    address.key,
                    event.topic.rpartition(".")[2],
                )
                for column, item in zip(columns, row, strict=True):
                    column.append(item)
            if columns[0]:
                curs.execute(self._insert_index, columns, prepare=True)
        return ids


class ConduitPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory with the indexing recorder."""

    application_recorder_class = IndexingRecorder
