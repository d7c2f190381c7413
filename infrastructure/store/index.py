"""Queries over the event index (written with the events, so always consistent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier

from infrastructure.persistence.recorder import INDEX_TABLE


@dataclass(frozen=True)
class IndexRow:
    """Where and when one version of an entry was recorded."""

    entry_id: UUID
    version: int
    position: int
    recorded_at: datetime
    area: str
    key: str
    event_type: str


class EventIndex:
    """Read access to ``cc_event_index``. Database errors propagate as eventsourcing's."""

    def __init__(self, *, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        self.datastore = datastore
        self._table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(INDEX_TABLE))

    def _fetch(self, query: Composed, params: tuple[Any, ...]) -> list[IndexRow]:
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, params, prepare=True)
            return [
                IndexRow(
                    entry_id=r["entry_id"],
                    version=r["version"],
                    position=r["position"],
                    recorded_at=r["recorded_at"],
                    area=r["area"],
                    key=r["key"],
                    event_type=r["event_type"],
                )
                for r in curs.fetchall()
            ]

    def version_at(self, entry_id: UUID, at: datetime) -> IndexRow | None:
        """The latest version recorded at or before ``at``."""
        rows = self._fetch(
            SQL(
                "SELECT * FROM {} WHERE entry_id = %s AND recorded_at <= %s"
                " ORDER BY version DESC LIMIT 1"
            ).format(self._table),
            (entry_id, at),
        )
        return rows[0] if rows else None

    def rows(self, entry_id: UUID, *, gt: int = 0, lte: int | None = None) -> dict[int, IndexRow]:
        """Index rows of an entry's versions in ``(gt, lte]``, keyed by version."""
        upper = lte if lte is not None else 2**62
        found = self._fetch(
            SQL(
                "SELECT * FROM {} WHERE entry_id = %s AND version > %s AND version <= %s"
                " ORDER BY version"
            ).format(self._table),
            (entry_id, gt, upper),
        )
        return {row.version: row for row in found}

    def latest(self, environment: str, area: str | None = None) -> list[IndexRow]:
        """The newest index row of every entry of an environment (optionally one area)."""
        query = SQL(
            "SELECT DISTINCT ON (entry_id) * FROM {} WHERE environment = %s"
            " AND (%s::text IS NULL OR area = %s::text) ORDER BY entry_id, version DESC"
        ).format(self._table)
        rows = self._fetch(query, (environment, area, area))
        return sorted(rows, key=lambda r: (r.area, r.key))

    def entries(self, environment: str | None = None) -> list[tuple[UUID, str]]:
        """Every entry id ever written (of one environment), with an ``env:area/key`` label."""
        query = SQL(
            "SELECT DISTINCT entry_id, environment, area, key FROM {}"
            " WHERE %s::text IS NULL OR environment = %s::text ORDER BY environment, area, key"
        ).format(self._table)
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, (environment, environment))
            return [
                (r["entry_id"], f"{r['environment']}:{r['area']}/{r['key']}")
                for r in curs.fetchall()
            ]

    def head(self) -> int:
        """The highest indexed log position (0 for an empty log)."""
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT COALESCE(MAX(position), 0) AS head FROM {}").format(self._table)
            )
            row = curs.fetchone()
            return int(row["head"]) if row else 0
