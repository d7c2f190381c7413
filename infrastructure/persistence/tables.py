"""Our tables named in the store's schema, and the one-query helper the SQL modules share."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier


def table(datastore: PostgresDatastore, name: str) -> Composed:
    """``schema.name``, both quoted as identifiers."""
    return SQL("{}.{}").format(Identifier(datastore.schema), Identifier(name))


def fetch_all(datastore: PostgresDatastore, query: Composed, params: tuple[Any, ...]) -> list[Any]:
    """Every row of one query on a pooled connection; database errors propagate as psycopg's
    (or eventsourcing's, from the pool)."""
    with datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(query, params)
        return list(curs.fetchall())
