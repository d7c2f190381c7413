"""The event index rewritten from the events: a row missing, extra (no event at its
position) or wrong (another entry, version, address or event type than its event's) is
found by comparing the two tables, and fixed in one transaction that holds the events
table's append lock.

A recreated row's ``recorded_at`` is its event's own timestamp, kept between the times of
the rows around it (``--as-of`` reads rely on times growing with positions). The chain
covers ``recorded_at``: a recreated row is a chain break at its position, which the repair
acknowledges.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL

from domain.address import _entry_id
from domain.entry import ConfigEntry
from infrastructure.persistence.recorder import EVENTS_TABLE, INDEX_TABLE
from infrastructure.persistence.tables import table

_COLUMNS = ("entry_id", "version", "environment", "area", "key", "event_type")


@dataclass(frozen=True)
class IndexRow:
    """One row of ``cc_event_index``."""

    position: int
    entry_id: UUID
    version: int
    recorded_at: datetime | None
    environment: str
    area: str
    key: str
    event_type: str


@dataclass(frozen=True)
class IndexFix:
    """One row to fix: ``kind`` is ``missing``, ``extra``, ``wrong`` or ``unplaceable``
    (an event whose address no row or creation event names: left without a row)."""

    position: int
    kind: str
    detail: str
    row: IndexRow | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain form for reports."""
        return {"position": self.position, "kind": self.kind, "detail": self.detail}


def plan_index(ds: PostgresDatastore, mapper: Mapper[UUID]) -> list[IndexFix]:
    """Every index row to add, delete or rewrite. Database errors propagate (psycopg's)."""
    with ds.get_connection() as conn, conn.cursor() as cur:
        cur.execute(
            SQL(
                "SELECT e.notification_id AS e_pos, e.originator_id AS e_id,"
                " e.originator_version AS e_version, e.topic, i.* FROM {} e FULL JOIN {} i"
                " ON i.position = e.notification_id"
                " ORDER BY COALESCE(e.notification_id, i.position)"
            ).format(table(ds, EVENTS_TABLE), table(ds, INDEX_TABLE))
        )
        rows = cur.fetchall()
    places = _addresses(ds, mapper, rows)
    fixes: list[IndexFix] = []
    for row in rows:
        if row["e_pos"] is None:
            fixes.append(IndexFix(row["position"], "extra", "index row without an event"))
            continue
        fix = _compare(row, places.get(row["e_id"]))
        if fix is not None:
            fixes.append(fix)
    return _timed(ds, mapper, fixes, rows)


def _addresses(
    ds: PostgresDatastore, mapper: Mapper[UUID], rows: list[Any]
) -> dict[UUID, tuple[str, str, str]]:
    """Each entry's address: from an index row whose address hashes to its id, else
    from its creation event."""
    found: dict[UUID, tuple[str, str, str]] = {}
    for row in rows:
        if row["position"] is not None:
            place = (row["environment"], row["area"], row["key"])
            if _entry_id(*place) == row["entry_id"]:
                found[row["entry_id"]] = place
    unknown = list({r["e_id"] for r in rows if r["e_pos"] is not None} - set(found))
    if not unknown:
        return found
    with ds.get_connection() as conn, conn.cursor() as cur:
        cur.execute(
            SQL(
                "SELECT originator_id, originator_version, topic, state FROM {}"
                " WHERE originator_id = ANY(%s) AND originator_version = 1"
            ).format(table(ds, EVENTS_TABLE)),
            (unknown,),
        )
        for row in cur.fetchall():
            event = _decoded(mapper, row)
            if isinstance(event, ConfigEntry.Created):
                place = (event.environment, event.area, event.key)
                if _entry_id(*place) == row["originator_id"]:
                    found[row["originator_id"]] = place
    return found


def _decoded(mapper: Mapper[UUID], row: Any) -> Any:
    stored = StoredEvent(
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )
    try:
        return mapper.to_domain_event(stored)
    except Exception:  # whatever the reason, the row is data we cannot read
        return None


def _compare(row: Any, place: tuple[str, str, str] | None) -> IndexFix | None:
    position = int(row["e_pos"])
    if place is None:
        return IndexFix(position, "unplaceable", "no index row or creation event names its entry")
    wanted = IndexRow(
        position,
        row["e_id"],
        int(row["e_version"]),
        row["recorded_at"],
        *place,
        str(row["topic"]).rpartition(".")[2],
    )
    if row["position"] is None:
        return IndexFix(position, "missing", "event without an index row", wanted)
    wrong = [c for c in _COLUMNS if row[c] != getattr(wanted, c)]
    if wrong:
        return IndexFix(position, "wrong", f"index row disagrees on {', '.join(wrong)}", wanted)
    return None


def _timed(
    ds: PostgresDatastore, mapper: Mapper[UUID], fixes: list[IndexFix], rows: list[Any]
) -> list[IndexFix]:
    """Missing rows get their event's timestamp, kept between the neighbours' times."""
    new = [f.position for f in fixes if f.kind == "missing"]
    if not new:
        return fixes
    stamps = _stamps(ds, mapper, new)
    kept = [
        (int(r["position"]), r["recorded_at"])
        for r in rows
        if r["position"] is not None and r["e_pos"] is not None
    ]
    bounds = _Bounds(kept)
    result = []
    for fix in fixes:
        if fix.kind == "missing" and fix.row is not None:
            low, high = bounds.around(fix.position)
            moment = stamps.get(fix.position) or low or high or datetime.now(UTC)
            moment = max(moment, low) if low is not None else moment
            moment = min(moment, high) if high is not None else moment
            result.append(IndexFix(fix.position, fix.kind, fix.detail, _with_time(fix.row, moment)))
        else:
            result.append(fix)
    return result


class _Bounds:
    """The latest time of the kept rows before a position and the earliest after it."""

    def __init__(self, kept: list[tuple[int, datetime]]) -> None:
        self._positions = [p for p, _ in kept]
        self._before: list[datetime] = list(accumulate((t for _, t in kept), max))
        after = list(accumulate((t for _, t in reversed(kept)), min))
        self._after = after[::-1]

    def around(self, position: int) -> tuple[datetime | None, datetime | None]:
        at = bisect_left(self._positions, position)
        low = self._before[at - 1] if at > 0 else None
        high = self._after[at] if at < len(self._after) else None
        return low, high


def _with_time(row: IndexRow, moment: datetime) -> IndexRow:
    return IndexRow(
        row.position,
        row.entry_id,
        row.version,
        moment,
        row.environment,
        row.area,
        row.key,
        row.event_type,
    )


def _stamps(ds: PostgresDatastore, mapper: Mapper[UUID], positions: list[int]) -> dict[int, Any]:
    """The timestamps the events at ``positions`` carry (when they can be read)."""
    with ds.get_connection() as conn, conn.cursor() as cur:
        cur.execute(
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state"
                " FROM {} WHERE notification_id = ANY(%s)"
            ).format(table(ds, EVENTS_TABLE)),
            (positions,),
        )
        found: dict[int, Any] = {}
        for row in cur.fetchall():
            event = _decoded(mapper, row)
            found[int(row["notification_id"])] = (
                event.timestamp if event is not None else _raw_stamp(bytes(row["state"]))
            )
        return found


def _raw_stamp(state: bytes) -> datetime | None:
    try:
        text = orjson.loads(state).get("timestamp")
        moment = datetime.fromisoformat(text)
    except Exception:  # not JSON, not an object, no readable time: the neighbours decide
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def apply_index(ds: PostgresDatastore, fixes: list[IndexFix]) -> None:
    """Delete the extra and wrong rows and write the missing and corrected ones, in one
    transaction holding the append lock. Database errors propagate (psycopg's)."""
    gone = [f.position for f in fixes if f.kind in ("extra", "wrong")]
    written = [f.row for f in fixes if f.kind in ("missing", "wrong") and f.row is not None]
    index = table(ds, INDEX_TABLE)
    with ds.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL lock_timeout = '10s'")
        cur.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table(ds, EVENTS_TABLE)))
        cur.execute(SQL("DELETE FROM {} WHERE position = ANY(%s)").format(index), (gone,))
        cur.executemany(
            SQL(
                "INSERT INTO {} (position, entry_id, version, recorded_at, environment, area,"
                " key, event_type) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            ).format(index),
            [
                (
                    r.position,
                    r.entry_id,
                    r.version,
                    r.recorded_at,
                    r.environment,
                    r.area,
                    r.key,
                    r.event_type,
                )
                for r in written
            ],
        )
