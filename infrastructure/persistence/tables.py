"""Our tables named in the store's schema, and the one-query helper the SQL modules share."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import RowFactory, dict_row
from psycopg.sql import SQL, Composed, Identifier

from infrastructure.persistence.outage import retry_lost_connection


def table(datastore: PostgresDatastore, name: str) -> Composed:
    """``schema.name``, both quoted as identifiers."""
    return SQL("{}.{}").format(Identifier(datastore.schema), Identifier(name))


@retry_lost_connection
def fetch_all(
    datastore: PostgresDatastore,
    query: Composed,
    params: tuple[Any, ...],
    *,
    row_factory: RowFactory[Any] = dict_row,
) -> list[Any]:
    """Every row of one statement (none when it returns no rows), committed on a pooled
    connection. It runs again on a fresh connection when its connection was lost (a
    restarted database leaves dead ones in the pool), so it suits reads and idempotent
    writes only. Other database errors propagate as eventsourcing's."""
    with datastore.get_connection() as conn, conn.cursor(row_factory=row_factory) as curs:
        curs.execute(query, params)
        return list(curs.fetchall()) if curs.description is not None else []
