"""SQL side of each projection: load state, write rows, reset. Runs inside the runner's
transaction, so rows and the tracked position commit together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from psycopg import Cursor
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from projections.audit import SchemaOf, audit_row
from projections.current import Completer, CurrentRow, next_current
from projections.records import LogRecord


class Sink(Protocol):
    """One projection's tables."""

    name: str

    def process(self, cur: Cursor[Any], records: Sequence[LogRecord]) -> None:
        """Apply a batch of records."""

    def reset(self, cur: Cursor[Any]) -> None:
        """Empty the projection's tables (for a rebuild)."""


class CurrentSink:
    """``cc_current``: one row per entry."""

    name = "current"
    _columns = SQL(
        "entry_id, environment, area, key, value, stored, version, position,"
        " updated_at, updated_by, deleted"
    )

    def __init__(self, *, schema: str, complete: Completer) -> None:
        self._table = SQL("{}.cc_current").format(Identifier(schema))
        self._complete = complete

    def process(self, cur: Cursor[Any], records: Sequence[LogRecord]) -> None:
        rows = self._load(cur, {r.entry_id for r in records})
        dirty: dict[UUID, CurrentRow] = {}
        for record in records:
            row = next_current(rows.get(record.entry_id), record, self._complete)
            rows[record.entry_id] = dirty[record.entry_id] = row
        cur.executemany(
            SQL(
                "INSERT INTO {} ({}) VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (entry_id) DO UPDATE SET value = EXCLUDED.value,"
                " stored = EXCLUDED.stored, version = EXCLUDED.version,"
                " position = EXCLUDED.position, updated_at = EXCLUDED.updated_at,"
                " updated_by = EXCLUDED.updated_by, deleted = EXCLUDED.deleted"
            ).format(self._table, self._columns),
            [
                (
                    r.entry_id,
                    r.environment,
                    r.area,
                    r.key,
                    Jsonb(r.value),
                    Jsonb(r.stored),
                    r.version,
                    r.position,
                    r.updated_at,
                    r.updated_by,
                    r.deleted,
                )
                for r in dirty.values()
            ],
        )

    def _load(self, cur: Cursor[Any], ids: set[UUID]) -> dict[UUID, CurrentRow]:
        cur.execute(
            SQL("SELECT {} FROM {} WHERE entry_id = ANY(%s)").format(self._columns, self._table),
            (list(ids),),
        )
        return {row[0]: CurrentRow(*row) for row in cur.fetchall()}

    def reset(self, cur: Cursor[Any]) -> None:
        cur.execute(SQL("TRUNCATE {}").format(self._table))


class AuditSink:
    """``cc_audit``: one row per event."""

    name = "audit"

    def __init__(self, *, schema: str, secret_schema: SchemaOf) -> None:
        self._table = SQL("{}.cc_audit").format(Identifier(schema))
        self._secret_schema = secret_schema

    def process(self, cur: Cursor[Any], records: Sequence[LogRecord]) -> None:
        rows = [audit_row(r, self._secret_schema(r.environment, r.area)) for r in records]
        cur.executemany(
            SQL(
                "INSERT INTO {} (position, environment, area, key, version, event, actor,"
                " reason, source, correlation_id, recorded_at, changes)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            ).format(self._table),
            [
                (
                    a.position,
                    a.environment,
                    a.area,
                    a.key,
                    a.version,
                    a.event,
                    a.actor,
                    a.reason,
                    a.source,
                    a.correlation_id,
                    a.recorded_at,
                    Jsonb(a.changes),
                )
                for a in rows
            ],
        )

    def reset(self, cur: Cursor[Any]) -> None:
        cur.execute(SQL("TRUNCATE {}").format(self._table))
