"""Reads the console's frame and dashboard need, through the store's own queries."""

from __future__ import annotations

from psycopg.sql import SQL

from domain.access import Grant, Role
from domain.address import SYSTEM_ENVIRONMENT
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.tables import fetch_all, table
from infrastructure.store import ConfigStore


def environment_names(store: ConfigStore) -> list[str]:
    """Every environment that has or had an entry, by name; never the system one (tokens
    and scheduled changes live there, shown on their own pages). Raises
    :class:`StorageError`."""
    store.fresh(["current"])
    query = SQL("SELECT DISTINCT environment FROM {} ORDER BY environment").format(
        table(store.index.datastore, "cc_current")
    )
    with storage_errors():
        rows = fetch_all(store.index.datastore, query, ())
    names = (str(row["environment"]) for row in rows)  # the pool answers dict rows
    return [name for name in names if name != SYSTEM_ENVIRONMENT]


def visible_environments(store: ConfigStore, grant: Grant) -> list[str]:
    """The environments where ``grant`` may read at least one area."""
    return [
        name for name in environment_names(store) if grant.allows(Role.READER, name, any_area=True)
    ]
