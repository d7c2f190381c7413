"""``cc_quarantine``: entries whose log was found broken. Reads refuse them and lists
report them until ``repair`` releases them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL

from infrastructure.persistence.tables import fetch_all, table

QUARANTINE_TABLE = "cc_quarantine"


@dataclass(frozen=True)
class QuarantinedEntry:
    """An entry whose log was found broken: where and why (never its value)."""

    entry_id: UUID
    environment: str
    area: str
    key: str
    position: int | None
    problem: str

    @property
    def name(self) -> str:
        """``env/area/key``."""
        return f"{self.environment}/{self.area}/{self.key}"


#: How long a process trusts its copy of the quarantined ids on the write path (a write
#: from its entry cache must not cost a query; another process's quarantine reaches it
#: within this long, its own at once).
KNOWN_IDS_SECONDS = 1.0


class QuarantineTable:
    """Read and write ``cc_quarantine``. Database errors propagate as psycopg's."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self._table = table(datastore, QUARANTINE_TABLE)
        self._known: frozenset[UUID] = frozenset()
        self._known_at = -KNOWN_IDS_SECONDS
        self._lock = threading.Lock()

    def holds(self, entry_id: UUID) -> bool:
        """Whether ``entry_id`` is quarantined, from a copy of the ids at most
        :data:`KNOWN_IDS_SECONDS` old (the table is small: it is read whole)."""
        with self._lock:
            if time.monotonic() - self._known_at >= KNOWN_IDS_SECONDS:
                rows = fetch_all(
                    self.datastore, SQL("SELECT entry_id FROM {}").format(self._table), ()
                )
                self._known = frozenset(r["entry_id"] for r in rows)
                self._known_at = time.monotonic()
            return entry_id in self._known

    def _forget_known(self) -> None:
        with self._lock:
            self._known_at = -KNOWN_IDS_SECONDS

    def quarantine(self, entry_id: UUID, label: str, position: int | None, problem: str) -> None:
        """Record ``entry_id`` (``label``: ``env/area/key`` or ``env:area/key``) as broken
        at ``position``; a second record of the same entry updates where and why."""
        environment, area, key = split_label(label)
        query = SQL(
            "INSERT INTO {} (entry_id, environment, area, key, position, problem)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (entry_id) DO UPDATE"
            " SET position = EXCLUDED.position, problem = EXCLUDED.problem"
        ).format(self._table)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, (entry_id, environment, area, key, position, problem[:2000]))
        self._forget_known()

    def quarantined(self, environment: str | None = None) -> list[QuarantinedEntry]:
        """Quarantined entries (of one environment), by address."""
        rows = fetch_all(
            self.datastore,
            SQL(
                "SELECT entry_id, environment, area, key, position, problem FROM {}"
                " WHERE %s::text IS NULL OR environment = %s::text ORDER BY environment, area, key"
            ).format(self._table),
            (environment, environment),
        )
        return [QuarantinedEntry(**r) for r in rows]

    def get(self, entry_id: UUID) -> QuarantinedEntry | None:
        """The quarantine record of one entry."""
        rows = fetch_all(
            self.datastore,
            SQL(
                "SELECT entry_id, environment, area, key, position, problem FROM {}"
                " WHERE entry_id = %s"
            ).format(self._table),
            (entry_id,),
        )
        return QuarantinedEntry(**rows[0]) if rows else None

    def release(self, entry_id: UUID) -> bool:
        """Take ``entry_id`` out of quarantine; whether it was in."""
        query = SQL("DELETE FROM {} WHERE entry_id = %s").format(self._table)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, (entry_id,))
            released = bool(curs.rowcount)
        self._forget_known()
        return released


def split_label(label: str) -> tuple[str, str, str]:
    """``env/area/key`` or ``env:area/key`` as its three parts (environment names may
    hold ``:``, area and key names never hold ``/``). Raises ``ValueError``."""
    head, _, key = label.rpartition("/")
    if "/" in head:
        environment, _, area = head.rpartition("/")
    else:
        environment, _, area = head.rpartition(":")
    if not (environment and area and key):
        raise ValueError(f"not an entry label: {label!r}")
    return environment, area, key
