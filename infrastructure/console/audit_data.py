"""The audit page's reads: the filters of ``conduit-config audit`` / ``GET /v1/audit``
(plus source and event type), the same query and the same access checks, and the CSV
download (formula-injection safe)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import orjson

from domain.access import Grant
from domain.address import SYSTEM_ENVIRONMENT
from infrastructure.http.changes import audit_environment  # the API's access rule
from infrastructure.http.common import parse_time
from infrastructure.presenters import shown_ops
from infrastructure.store import ConfigStore
from infrastructure.store.readmodels import AuditQuery
from projections.audit import AuditRow

#: The event types of the log (an entry's), for the filter's choices.
EVENT_TYPES = (
    "created",
    "replaced",
    "changed",
    "rolled_back",
    "deleted",
    "restored",
    "reestablished",
)
PAGE_SIZES = (25, 50, 100, 200)
#: Rows read per query while writing a CSV file, and the most one file holds.
CSV_BATCH, CSV_MAX_ROWS = 1000, 100_000
CSV_COLUMNS = (
    "position",
    "recorded_at",
    "environment",
    "area",
    "key",
    "version",
    "event",
    "actor",
    "source",
    "reason",
    "correlation_id",
    "changes",
)
# A spreadsheet runs a cell starting with one of these as a formula (tab and CR too).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilters:
    """What the filter form sent, as text (kept to fill the form again)."""

    env: str
    area: str = ""
    key: str = ""
    actor: str = ""
    source: str = ""
    event: str = ""
    since: str = ""
    until: str = ""

    def query(self, grant: Grant, *, before: int | None, limit: int) -> AuditQuery:
        """The store query for ``grant``, checked as ``GET /v1/audit`` checks it.
        Raises :class:`PermissionDeniedError` (the environment or area is not the
        grant's; ``_system`` is for admins), :class:`InvalidAddressError` (a bad
        environment name) and :class:`MalformedInputError` (a bad time)."""
        area = self.area or None
        audit_environment(self.env, grant, area)
        return AuditQuery(
            environment=self.env,
            area=area,
            key=self.key or None,
            actor=self.actor or None,
            since=parse_time(self.since, name="since") if self.since else None,
            until=parse_time(self.until, name="until") if self.until else None,
            before=before,
            limit=limit,
            areas=grant.visible_areas(self.env),
            source=self.source or None,
            event=self.event or None,
        )

    def params(self) -> dict[str, str]:
        """The filters that are set, for links (paging, CSV)."""
        return {name: value for name, value in vars(self).items() if value}


@dataclass(frozen=True)
class AuditPage:
    """One page of rows, newest first, and the cursor of the next (older) page."""

    rows: list[AuditRow]
    next_before: int | None


def audit_page(store: ConfigStore, grant: Grant, query: AuditQuery) -> AuditPage:
    """The rows of ``query`` that ``grant`` sees, as ``GET /v1/audit`` answers them.
    Raises :class:`StorageError`."""
    rows = store.audit(query)
    cursor = rows[-1].position if len(rows) == query.limit else None
    return AuditPage([r for r in rows if grant.sees(r.environment, r.area)], cursor)


def cell(value: Any) -> str:
    """One CSV cell: text a spreadsheet would run as a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_line(values: list[Any]) -> str:
    """One CSV record (RFC 4180 quoting, CRLF)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell(v) for v in values])
    return out.getvalue()


def csv_record(row: AuditRow) -> list[Any]:
    """The cells of a row (its changes as redacted JSON), in :data:`CSV_COLUMNS` order."""
    changes = orjson.dumps(shown_ops(row.changes), default=str).decode()
    return [
        row.position,
        row.recorded_at.isoformat(),
        row.environment,
        row.area,
        row.key,
        row.version,
        row.event,
        row.actor,
        row.source,
        row.reason,
        row.correlation_id,
        changes,
    ]


def csv_lines(store: ConfigStore, grant: Grant, query: AuditQuery) -> Iterator[str]:
    """The header and every row of ``query`` the grant sees (newest first, at most
    :data:`CSV_MAX_ROWS`), read :data:`CSV_BATCH` at a time. Raises :class:`StorageError`."""
    yield csv_line(list(CSV_COLUMNS))
    sent, batch = 0, replace(query, limit=CSV_BATCH)
    while sent < CSV_MAX_ROWS:
        found = audit_page(store, grant, batch)
        for row in found.rows[: CSV_MAX_ROWS - sent]:
            yield csv_line(csv_record(row))
            sent += 1
        if found.next_before is None:
            return
        batch = replace(batch, before=found.next_before)


def audit_environments(grant: Grant, environments: list[str]) -> list[str]:
    """The environments the filter offers: those the user sees, and the system one
    (tokens, scheduled changes) for admins who see it."""
    extra = [SYSTEM_ENVIRONMENT] if grant.visible_areas(SYSTEM_ENVIRONMENT) is None else []
    return [*environments, *extra]
