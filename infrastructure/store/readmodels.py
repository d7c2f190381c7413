"""Reads served by projections (``current``, ``audit``), always caught up first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import tuple_row
from psycopg.sql import SQL

from domain.address import Address
from domain.environment import EntryState
from domain.stored import EntryProblem
from domain.values import value_hash
from infrastructure.persistence.tables import fetch_all
from infrastructure.persistence.tables import table as named_table
from infrastructure.projection.runner import ProjectionStatus
from infrastructure.store.base import StoreBase, storage_errors
from infrastructure.store.views import EntryView
from projections.audit import AuditRow


@dataclass(frozen=True)
class AuditQuery:
    """Filters of an audit read; ``before`` pages backwards by position; ``areas`` (when
    set) are the only areas the reader may see, filtered in the query so that a page
    holds up to ``limit`` visible rows."""

    environment: str
    area: str | None = None
    key: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = 50
    areas: frozenset[str] | None = None
    source: str | None = None
    event: str | None = None


@dataclass(frozen=True)
class Listing:
    """Entries served by a list, and those it left out."""

    items: list[EntryView]
    problems: list[EntryProblem]


#: The live entries of an environment, optionally of one area, by area and key.
_LIVE_ENTRIES = (
    "SELECT area, key, version, value, stored, updated_at, position, updated_by"
    " FROM {} WHERE environment = %s AND NOT deleted"
    " AND (%s::text IS NULL OR area = %s::text) ORDER BY area, key"
)


class StoreReadModels(StoreBase):
    """Entry lists and the audit trail from their projections."""

    def _select(self, table: str, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Run ``query`` with ``{}`` standing for one of our tables."""
        datastore = self.index.datastore
        statement = SQL(query).format(named_table(datastore, table))
        with storage_errors():
            rows: list[tuple[Any, ...]] = fetch_all(
                datastore, statement, params, row_factory=tuple_row
            )
        return rows

    def list_entries(
        self, environment: str, area: str | None = None, *, min_position: int | None = None
    ) -> list[EntryView]:
        """Current live entries of an environment (optionally one area), by area and key;
        those whose stored value cannot be served are left out (see :meth:`listing`)."""
        return self.listing(environment, area, min_position=min_position).items

    def listing(
        self, environment: str, area: str | None = None, *, min_position: int | None = None
    ) -> Listing:
        """Current live entries, and the entries left out because their stored value
        cannot be served today."""
        if area is not None:
            self.area_model(environment, area)
        self.fresh(["current"], min_position)
        rows = self._select("cc_current", _LIVE_ENTRIES, (environment, area, area))
        found = {(r[0], r[1]): r for r in rows}
        served = self.serving.partition(
            environment,
            (EntryState(r[0], r[1], r[2], r[6], r[4], False) for r in rows),
            live_only=True,
            complete=True,
            redacted=False,
            area=area,
        )
        items = [
            _entry_view(environment, found[entry.area, entry.key], entry.stored)
            for entry in served.entries
        ]
        return Listing(items, served.problems)

    def audit(self, query: AuditQuery, *, min_position: int | None = None) -> list[AuditRow]:
        """Audit rows matching the filters, newest first."""
        self.fresh(["audit"], min_position)
        areas = None if query.areas is None else sorted(query.areas)
        rows = self._select(
            "cc_audit",
            (
                "SELECT position, environment, area, key, version, event, actor, reason, source,"
                " correlation_id, recorded_at, changes FROM {} WHERE environment = %s"
                " AND (%s::text IS NULL OR area = %s::text)"
                " AND (%s::text IS NULL OR key = %s::text)"
                " AND (%s::text IS NULL OR actor = %s::text)"
                " AND (%s::timestamptz IS NULL OR recorded_at >= %s::timestamptz)"
                " AND (%s::timestamptz IS NULL OR recorded_at <= %s::timestamptz)"
                " AND (%s::bigint IS NULL OR position < %s::bigint)"
                " AND (%s::text[] IS NULL OR area = ANY(%s::text[]))"
                " AND (%s::text IS NULL OR source = %s::text)"
                " AND (%s::text IS NULL OR event = %s::text)"
                " ORDER BY position DESC LIMIT %s"
            ),
            (
                query.environment,
                query.area,
                query.area,
                query.key,
                query.key,
                query.actor,
                query.actor,
                query.since,
                query.since,
                query.until,
                query.until,
                query.before,
                query.before,
                areas,
                areas,
                query.source,
                query.source,
                query.event,
                query.event,
                query.limit,
            ),
        )
        return [AuditRow(*row) for row in rows]

    def changes_after(
        self,
        position: int,
        *,
        environment: str | None = None,
        area: str | None = None,
        limit: int = 500,
    ) -> list[AuditRow]:
        """Audit rows after ``position``, oldest first: the change stream. Reads what the
        audit projection has written (no catch-up: the stream's follower does that)."""
        rows = self._select(
            "cc_audit",
            (
                "SELECT position, environment, area, key, version, event, actor, reason, source,"
                " correlation_id, recorded_at, changes FROM {} WHERE position > %s"
                " AND (%s::text IS NULL OR environment = %s::text)"
                " AND (%s::text IS NULL OR area = %s::text)"
                " ORDER BY position LIMIT %s"
            ),
            (position, environment, environment, area, area, limit),
        )
        return [AuditRow(*row) for row in rows]

    def projection_status(self) -> list[ProjectionStatus]:
        """Position, head and lag of every projection (no catch-up: what the runner did)."""
        with storage_errors():
            return self.projections.status()

    def rebuild_projection(self, name: str) -> int:
        """Drop and replay one projection; returns the events replayed."""
        with storage_errors():
            return self.projections.rebuild(name)


def _entry_view(environment: str, row: tuple[Any, ...], value: Any) -> EntryView:
    """A live entry of a list, from its ``_LIVE_ENTRIES`` row and its served value."""
    return EntryView(
        address=Address(environment, row[0], row[1]),
        version=row[2],
        value=value,
        stored=row[4],
        deleted=False,
        recorded_at=row[5],
        position=row[6],
        actor=row[7],
        reason=None,
        value_hash=value_hash(row[4]),
    )
