"""The record of secret reveals (table ``cc_reveals``): who saw which entry's secrets in
plaintext, when, from where and through what.

A reveal is served only once its record is written: :meth:`RevealLog.record` raises
:class:`StorageError` when it cannot write, and callers then show nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed

from infrastructure.errors import StorageError
from infrastructure.persistence.errors import first_line, storage_errors
from infrastructure.persistence.tables import table
from infrastructure.store.base import StoreBase

REVEALS_TABLE = "cc_reveals"
#: Through what a secret was revealed.
VIA_GET, VIA_ENV, VIA_CLIENT, VIA_STREAM = "get", "env", "client", "stream"
#: Through the operator console's editor (an admin's "reveal" of one secret).
VIA_CONSOLE = "console"
#: The role recorded for the direct CLI, which holds the database and the secret key.
CLI_ROLE = "cli"


@dataclass(frozen=True)
class Revealer:
    """Who asks (token name or CLI actor), with what role, from where (a remote address,
    or ``cli:OS_USER``) and through what (``get``, ``env``, ``client``, ``stream``)."""

    actor: str
    role: str
    origin: str
    via: str


@dataclass(frozen=True)
class Revealed:
    """One entry version whose secrets are shown in plaintext."""

    environment: str
    area: str
    key: str
    version: int


@dataclass(frozen=True)
class RevealRecord:
    """One recorded reveal."""

    id: int
    revealed_at: datetime
    actor: str
    role: str
    environment: str
    area: str
    key: str
    version: int
    origin: str
    via: str

    def to_json(self) -> dict[str, Any]:
        """As the CLI's ``--json`` and the HTTP API show it."""
        return {
            "id": self.id,
            "revealed_at": self.revealed_at.isoformat(),
            "actor": self.actor,
            "role": self.role,
            "environment": self.environment,
            "area": self.area,
            "key": self.key,
            "version": self.version,
            "from": self.origin,
            "via": self.via,
        }


@dataclass(frozen=True)
class RevealQuery:
    """Filters of a read, newest first; ``before`` pages backwards by id."""

    environment: str | None = None
    actor: str | None = None
    since: datetime | None = None
    before: int | None = None
    limit: int = 50


class RevealLog:
    """Writes and reads ``cc_reveals`` of one schema."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        self._table = table(datastore, REVEALS_TABLE)

    def record(self, who: Revealer, entries: Iterable[Revealed]) -> int:
        """Record one reveal per entry in one statement; returns how many were written.

        Raises :class:`StorageError` when they cannot all be written (nothing is then).
        """
        rows = list(entries)
        if not rows:
            return 0
        statement = SQL(
            "INSERT INTO {} (actor, role, origin, via, environment, area, key, version)"
            " SELECT %s, %s, %s, %s, e, a, k, v"
            " FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) AS t(e, a, k, v)"
        ).format(self._table)
        params = (
            who.actor,
            who.role,
            who.origin,
            who.via,
            [r.environment for r in rows],
            [r.area for r in rows],
            [r.key for r in rows],
            [r.version for r in rows],
        )
        self._execute(statement, params)
        return len(rows)

    def _execute(self, statement: Composed, params: tuple[Any, ...]) -> None:
        # Any failure, even an integrity error storage_errors lets through, means the
        # record is not there: the caller must not reveal.
        try:
            with (
                storage_errors(),
                self._datastore.get_connection() as conn,
                conn.transaction(),
                conn.cursor() as cur,
            ):
                # A table locked by someone else fails the reveal (503) like an append,
                # rather than holding a request thread for as long as the lock lasts.
                cur.execute("SET LOCAL lock_timeout = '10s'")
                cur.execute(statement, params)
        except (PersistenceError, psycopg.Error) as exc:
            raise StorageError(f"could not record the reveal: {first_line(exc)}") from None
        except StorageError as exc:
            raise StorageError(f"could not record the reveal: {exc}") from None

    def query(self, query: RevealQuery) -> list[RevealRecord]:
        """Recorded reveals matching the filters, newest first. Raises :class:`StorageError`."""
        statement = SQL(
            "SELECT id, revealed_at, actor, role, environment, area, key, version, origin, via"
            " FROM {}"
            " WHERE (%s::text IS NULL OR environment = %s::text)"
            " AND (%s::text IS NULL OR actor = %s::text)"
            " AND (%s::timestamptz IS NULL OR revealed_at >= %s::timestamptz)"
            " AND (%s::bigint IS NULL OR id < %s::bigint)"
            " ORDER BY id DESC LIMIT %s"
        ).format(self._table)
        params = (
            query.environment,
            query.environment,
            query.actor,
            query.actor,
            query.since,
            query.since,
            query.before,
            query.before,
            query.limit,
        )
        return [RevealRecord(*row) for row in self._fetch(statement, params)]

    def counts(self) -> dict[str, int]:
        """Reveals recorded so far, by role. Raises :class:`StorageError`."""
        statement = SQL("SELECT role, count(*) FROM {} GROUP BY role").format(self._table)
        return {str(role): int(count) for role, count in self._fetch(statement, ())}

    def _fetch(self, statement: Composed, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with (
            storage_errors(),
            self._datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            cur.execute(statement, params)
            return cur.fetchall()


def reveal_log(store: StoreBase) -> RevealLog:
    """The reveal record of ``store``'s schema."""
    return RevealLog(store.index.datastore)
