"""Versioned, idempotent migrations of our own tables (eventsourcing owns its own).

``Migrator.apply`` takes a transaction-scoped advisory lock, so concurrent starts
apply each migration once; running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.sql import SQL, Composed, Identifier

from infrastructure.errors import StorageError
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.migration_list import LATEST, MIGRATIONS, Migration


def _sql(statement: str, schema: str) -> Composed:
    return SQL(statement).format(s=Identifier(schema))


class Migrator:
    """Applies and checks migrations in one schema. Raises :class:`StorageError`."""

    def __init__(self, *, url: str, schema: str, connect_timeout: int) -> None:
        self.url = url
        self.schema = schema
        self.connect_timeout = connect_timeout

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """One connection holding the schema's start-up lock, so concurrent starts create
        tables one at a time; database errors become :class:`StorageError`."""
        key = f"cc-start:{self.schema}"
        with (
            storage_errors(),
            psycopg.connect(
                self.url, autocommit=True, connect_timeout=self.connect_timeout
            ) as conn,
        ):
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
            try:
                yield conn
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))

    def _applied(self, conn: psycopg.Connection[tuple[object, ...]]) -> list[int]:
        exists = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"{self.schema}.cc_schema_migrations",)
        ).fetchone()
        if not exists or not exists[0]:
            return []
        rows = conn.execute(
            _sql("SELECT version FROM {s}.cc_schema_migrations ORDER BY version", self.schema)
        ).fetchall()
        return [int(str(r[0])) for r in rows]

    def _pending(self, conn: psycopg.Connection[tuple[object, ...]]) -> list[Migration]:
        done = self._applied(conn)
        if done and max(done) > LATEST:
            raise StorageError(
                f"database schema {self.schema!r} is at migration {max(done)}, newer than this "
                f"release ({LATEST}); upgrade conduit-config"
            )
        return [m for m in MIGRATIONS if m.version not in done]

    def _apply(self, conn: psycopg.Connection[tuple[object, ...]]) -> list[Migration]:
        conn.execute(_sql("CREATE SCHEMA IF NOT EXISTS {s}", self.schema))
        conn.execute(
            _sql(
                "CREATE TABLE IF NOT EXISTS {s}.cc_schema_migrations (version int PRIMARY KEY,"
                " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                self.schema,
            )
        )
        applied = []
        for migration in self._pending(conn):
            with conn.transaction():
                for statement in migration.statements:
                    conn.execute(_sql(statement, self.schema))
                conn.execute(
                    _sql(
                        "INSERT INTO {s}.cc_schema_migrations (version, name) VALUES (%s, %s)",
                        self.schema,
                    ),
                    (migration.version, migration.name),
                )
            applied.append(migration)
        return applied

    def _check(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        missing = self._pending(conn)
        if missing:
            names = ", ".join(f"{m.version} ({m.name})" for m in missing)
            raise StorageError(
                f"schema {self.schema!r} needs migrations {names}: run `conduit-config migrate`"
            )

    def applied(self) -> list[int]:
        """Versions already applied (empty for a new schema)."""
        with self._session() as conn:
            return self._applied(conn)

    def pending(self) -> list[Migration]:
        """Migrations not applied yet; raises if the schema is newer than this release."""
        with self._session() as conn:
            return self._pending(conn)

    def apply(self) -> list[Migration]:
        """Apply every pending migration, each in its own transaction; return those applied."""
        with self._session() as conn:
            return self._apply(conn)

    @contextmanager
    def started(self, *, apply: bool) -> Iterator[None]:
        """Apply (or, with ``apply=False``, check) migrations and keep the start-up lock
        while the caller creates its own tables."""
        with self._session() as conn:
            if apply:
                self._apply(conn)
            else:
                self._check(conn)
            yield
