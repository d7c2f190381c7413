"""Queries over the event index (written with the events, so always consistent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed

from infrastructure.persistence.recorder import EVENTS_TABLE, INDEX_TABLE
from infrastructure.persistence.tables import table
from projections.digest import StateDigest


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
        self.datastore = datastore
        self._table = table(datastore, INDEX_TABLE)
        self._events = table(datastore, EVENTS_TABLE)

    def _fetch(self, query: Composed, params: tuple[Any, ...]) -> list[IndexRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
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

    def settle(self, moment: datetime) -> None:
        """Wait until every append that may record a time at or before ``moment`` has
        committed, so that a read as of ``moment`` (a time already past) is final.

        An append stamps its time when it takes the table lock and commits a little later;
        without this, a read of the last milliseconds could miss a transaction that
        commits afterwards with an earlier time. Appends already committed with a later
        time prove that none in flight can be earlier (each stamps no earlier than the
        last committed one), so older moments cost one indexed ``MAX``. Otherwise a
        ``ROW SHARE`` lock waits for the append holding the table lock; every later one
        stamps a time after that. Database errors propagate as eventsourcing's."""
        latest = self._value(SQL("SELECT MAX(recorded_at) FROM {}").format(self._table), ())
        if latest is not None and moment < latest:
            return
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '10s'")  # as long as an append may wait
            cur.execute(SQL("LOCK TABLE {} IN ROW SHARE MODE").format(self._events))

    def version_at(self, entry_id: UUID, at: datetime) -> IndexRow | None:
        """The latest version recorded at or before ``at`` (final once ``at`` is past)."""
        self.settle(at)
        rows = self._fetch(
            SQL(
                "SELECT * FROM {} WHERE entry_id = %s AND recorded_at <= %s"
                " ORDER BY version DESC LIMIT 1"
            ).format(self._table),
            (entry_id, at),
        )
        return rows[0] if rows else None

    def _value(self, query: Composed, params: tuple[Any, ...]) -> Any:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, params, prepare=True)
            row = curs.fetchone()
            return next(iter(row.values())) if row else None

    def head(self) -> int:
        """The last position in the index (0 for an empty log)."""
        return int(
            self._value(SQL("SELECT COALESCE(MAX(position), 0) FROM {}").format(self._table), ())
        )

    def digest_at(self, position: int) -> StateDigest:
        """The state digest of the log after the events up to ``position``."""
        versions = SQL(
            "SELECT entry_id, MAX(version) AS version FROM {} WHERE position <= %s"
            " GROUP BY entry_id"
        ).format(self._table)
        positions = SQL("SELECT position FROM {} WHERE position <= %s").format(self._table)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(versions, (position,))
            pairs = [(r["entry_id"], int(r["version"])) for r in curs.fetchall()]
            curs.execute(positions, (position,))
            return StateDigest(pairs, (int(r["position"]) for r in curs.fetchall()))

    def at_position(self, position: int) -> IndexRow | None:
        """The index row of one log position."""
        rows = self._fetch(
            SQL("SELECT * FROM {} WHERE position = %s").format(self._table), (position,)
        )
        return rows[0] if rows else None

    def last_at(self, moment: datetime) -> IndexRow | None:
        """The last row recorded at or before ``moment`` (final once ``moment`` is past)."""
        self.settle(moment)
        rows = self._fetch(
            SQL(
                "SELECT * FROM {} WHERE recorded_at <= %s"
                " ORDER BY recorded_at DESC, position DESC LIMIT 1"
            ).format(self._table),
            (moment,),
        )
        return rows[0] if rows else None

    def transaction_end(self, position: int) -> int | None:
        """The last position written by the transaction that wrote ``position`` (its
        rows share one ``recorded_at``); ``None`` if ``position`` is not in the index."""
        end = self._value(
            SQL(
                "SELECT MAX(position) FROM {0} WHERE recorded_at ="
                " (SELECT recorded_at FROM {0} WHERE position = %s)"
            ).format(self._table),
            (position,),
        )
        return int(end) if end is not None else None

    def row(self, entry_id: UUID, version: int) -> IndexRow | None:
        """The index row of one version."""
        return self.rows(entry_id, gt=version - 1, lte=version).get(version)

    def latest_version(self, entry_id: UUID) -> int | None:
        """The newest version of an entry, ``None`` if it never existed."""
        rows = self._fetch(
            SQL("SELECT * FROM {} WHERE entry_id = %s ORDER BY version DESC LIMIT 1").format(
                self._table
            ),
            (entry_id,),
        )
        return rows[0].version if rows else None

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

    def entries(self, environment: str | None = None) -> list[tuple[UUID, str]]:
        """Every entry id ever written (of one environment), with an ``env:area/key`` label."""
        query = SQL(
            "SELECT DISTINCT entry_id, environment, area, key FROM {}"
            " WHERE %s::text IS NULL OR environment = %s::text ORDER BY environment, area, key"
        ).format(self._table)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, (environment, environment))
            return [
                (r["entry_id"], f"{r['environment']}:{r['area']}/{r['key']}")
                for r in curs.fetchall()
            ]
