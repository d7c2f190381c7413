"""The instance registry: each instance's heartbeat, role and applied log position.

Rows live in ``cc_instances``. An instance is alive while its heartbeat is younger than
the timeout; a killed one stays listed (dead) until the leader prunes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from infrastructure.persistence.errors import storage_errors

Role = Literal["leader", "follower"]


@dataclass(frozen=True)
class InstanceInfo:
    """One registered instance as ``cluster status`` shows it."""

    id: str
    host: str
    pid: int
    kind: str
    role: str
    position: int
    lag: int
    digest: str | None
    started_at: datetime
    last_seen: datetime
    alive: bool


@dataclass(frozen=True)
class Beat:
    """What an instance reports in one heartbeat."""

    id: str
    host: str
    pid: int
    kind: str
    role: Role
    position: int
    digest: str | None
    head: int  # the log head just before ``position`` was read: lag = head - position


class InstanceRegistry:
    """Reads and writes ``cc_instances``; raises :class:`StorageError`."""

    def __init__(self, *, datastore: PostgresDatastore) -> None:
        self._datastore = datastore
        schema = Identifier(datastore.schema)
        self._table = SQL("{}.cc_instances").format(schema)

    def _run(self, query: Composed, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with (
            storage_errors(),
            self._datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []

    def beat(self, beat: Beat) -> None:
        """Record a heartbeat (registering the instance on its first)."""
        self._run(
            SQL(
                "INSERT INTO {} (id, host, pid, kind, role, position, digest, head)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE"
                " SET role = EXCLUDED.role, position = EXCLUDED.position,"
                " digest = EXCLUDED.digest, head = EXCLUDED.head, last_seen = now()"
            ).format(self._table),
            (
                beat.id,
                beat.host,
                beat.pid,
                beat.kind,
                beat.role,
                beat.position,
                beat.digest,
                beat.head,
            ),
        )

    def claim_leadership(self, instance_id: str) -> None:
        """Record a new leader: any other row still saying ``leader`` is stale (the lock
        has only one holder), whether its instance died or has not noticed yet."""
        self._run(
            SQL(
                "UPDATE {} SET role = CASE WHEN id = %s THEN 'leader' ELSE 'follower' END"
                " WHERE role = 'leader' OR id = %s"
            ).format(self._table),
            (instance_id, instance_id),
        )

    def remove(self, instance_id: str) -> None:
        """Unregister an instance (on a clean shutdown)."""
        self._run(SQL("DELETE FROM {} WHERE id = %s").format(self._table), (instance_id,))

    def prune(self, older_than_seconds: float) -> int:
        """Forget instances not heard from for this long; returns how many."""
        rows = self._run(
            SQL(
                "DELETE FROM {} WHERE last_seen < now() - make_interval(secs => %s) RETURNING id"
            ).format(self._table),
            (older_than_seconds,),
        )
        return len(rows)

    def instances(self, *, timeout_seconds: float) -> list[InstanceInfo]:
        """Every registered instance, leader first, with its lag behind the log head at
        its last heartbeat (a dead instance's lag stops there too)."""
        rows = self._run(
            SQL(
                "SELECT id, host, pid, kind, role, position, GREATEST(head - position, 0),"
                " digest, started_at, last_seen,"
                " last_seen >= now() - make_interval(secs => %s)"
                " FROM {} ORDER BY role = 'leader' DESC, started_at, id"
            ).format(self._table),
            (timeout_seconds,),
        )
        return [InstanceInfo(*row) for row in rows]
