"""Reads the console's frame and dashboard need, through the store's own queries."""

from __future__ import annotations

from fastapi import Request
from psycopg.sql import SQL

from domain.access import Grant, Role
from domain.address import SYSTEM_ENVIRONMENT
from infrastructure.http.services import services_of
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


def seen_environments(request: Request, grant: Grant) -> list[str]:
    """:func:`visible_environments` of this request's store, read once per request (the
    page's frame and the page itself both need it). Raises :class:`StorageError`."""
    cached: list[str] | None = getattr(request.state, "console_environments", None)
    if cached is None:
        cached = visible_environments(services_of(request).store, grant)
        request.state.console_environments = cached
    return cached
