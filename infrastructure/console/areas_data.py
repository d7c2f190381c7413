"""Reads of the console's area pages: entry counts per area, and one area's entries
(deleted ones included) with their last change, a page at a time. Scoping is the
caller's (the pages filter by the grant exactly as ``GET /v1/envs/{env}/entries``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.sql import SQL

from domain.environment import EntryState
from domain.stored import EntryProblem
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.tables import fetch_all, table
from infrastructure.store import ConfigStore

#: Entries shown per page of an area.
PAGE_SIZE = 100
#: How many entries of one area have a key matching a LIKE pattern (case ignored).
_COUNT = (
    "SELECT count(*) AS n FROM {} c WHERE c.environment = %s AND c.area = %s AND c.key ILIKE %s"
)
#: A page of those entries by key, with the reason of each one's last change.
_PAGE = (
    "SELECT c.key, c.version, c.deleted, c.position, c.updated_at, c.updated_by, a.reason,"
    " c.stored"
    " FROM {} c LEFT JOIN {} a ON a.position = c.position"
    " WHERE c.environment = %s AND c.area = %s AND c.key ILIKE %s"
    " ORDER BY c.key LIMIT %s OFFSET %s"
)


@dataclass(frozen=True)
class AreaCount:
    """Entries of one area of an environment: live and deleted."""

    live: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class AreaEntry:
    """One entry of an area page: its current version and last change."""

    key: str
    version: int
    deleted: bool
    position: int
    changed_at: datetime | None
    changed_by: str
    reason: str | None
    stored: Any = None  # the sparse stored value (secrets sealed): for the servability check


@dataclass(frozen=True)
class AreaPage:
    """A page of an area's entries (by key) and how many match in all."""

    entries: list[AreaEntry]
    total: int
    page: int
    pages: int


def area_counts(store: ConfigStore, environment: str) -> dict[str, AreaCount]:
    """Live and deleted entries per area of ``environment``, from the ``current``
    projection (caught up first). Raises :class:`StorageError`."""
    store.fresh(["current"])
    query = SQL(
        "SELECT area, count(*) FILTER (WHERE NOT deleted) AS live,"
        " count(*) FILTER (WHERE deleted) AS gone"
        " FROM {} WHERE environment = %s GROUP BY area"
    ).format(table(store.index.datastore, "cc_current"))
    with storage_errors():
        rows = fetch_all(store.index.datastore, query, (environment,))
    return {str(r["area"]): AreaCount(int(r["live"]), int(r["gone"])) for r in rows}


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its ``%``, ``_`` and ``\\`` literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def area_page(
    store: ConfigStore, environment: str, area: str, *, contains: str = "", page: int = 1
) -> AreaPage:
    """The entries of ``environment``/``area`` whose key contains ``contains`` (case
    ignored), page ``page`` of :data:`PAGE_SIZE` by key, each with its last change's
    time, actor and reason. Raises :class:`StorageError`."""
    store.fresh(["current", "audit"])
    datastore = store.index.datastore
    params: tuple[Any, ...] = (environment, area, like_pattern(contains))
    count = SQL(_COUNT).format(table(datastore, "cc_current"))
    select = SQL(_PAGE).format(table(datastore, "cc_current"), table(datastore, "cc_audit"))
    with storage_errors():
        total = int(fetch_all(datastore, count, params)[0]["n"])
        pages = max(1, -(-total // PAGE_SIZE))
        shown = min(page, pages)
        rows = fetch_all(datastore, select, (*params, PAGE_SIZE, (shown - 1) * PAGE_SIZE))
    entries = [
        AreaEntry(
            str(r["key"]),
            int(r["version"]),
            bool(r["deleted"]),
            int(r["position"]),
            r["updated_at"],
            str(r["updated_by"]),
            r["reason"],
            r["stored"],
        )
        for r in rows
    ]
    return AreaPage(entries, total, shown, pages)


def page_problems(
    store: ConfigStore, environment: str, area: str, entries: list[AreaEntry]
) -> list[EntryProblem]:
    """Why entries of the page (and quarantined entries of the area) cannot be served, as
    ``list`` reports them: only the shown entries are checked, so a page costs the same
    whatever the area's size. Raises :class:`StorageError`."""
    states = (
        EntryState(area, e.key, e.version, e.position, e.stored or {}, e.deleted) for e in entries
    )
    served = store.serving.partition(
        environment, states, live_only=True, complete=True, redacted=False, area=area
    )
    return served.problems
