"""One entry's log, read raw and judged on its own: versions 1..N present, each event
decodes and matches its value hash, the event index agrees with the events. And the
quarantine (``cc_quarantine``): entries whose log was found broken, which reads refuse
and lists report until ``repair`` releases them.

Nothing here goes through the aggregate repository: a damaged log must be described,
not crash the reader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL

from domain.address import Address, _entry_id
from domain.entry import ConfigEntry
from domain.values import JsonObject
from infrastructure.persistence.recorder import EVENTS_TABLE, INDEX_TABLE
from infrastructure.persistence.tables import table
from infrastructure.store.findings import Finding
from infrastructure.store.logchecks import (
    check_current,
    check_index,
    check_versions,
    honour_repair,
    replay,
)
from infrastructure.store.quarantine import QuarantinedEntry, QuarantineTable, split_label

__all__ = [
    "EntryLog",
    "Finding",
    "LoggedEvent",
    "QuarantineTable",
    "QuarantinedEntry",
    "inspect_entry",
    "split_label",
]

log = logging.getLogger("conduit_config.integrity")
SNAPSHOTS_TABLE = "conduitconfig_snapshots"


class LoggedEvent(NamedTuple):
    """One stored event of an entry: its log position, version and the decoded event
    (``None`` when it does not decode)."""

    position: int
    version: int
    event: ConfigEntry.Event | None


@dataclass(frozen=True)
class IndexRecord:
    """One raw ``cc_event_index`` row."""

    position: int
    entry_id: UUID
    version: int
    environment: str
    area: str
    key: str


@dataclass
class EntryLog:
    """What one entry's stored log holds and what is wrong with it.

    ``intact_through`` is the last version ``v`` such that versions 1..v are present,
    decode and match their value hashes (0 if none); ``values`` holds the value after
    each of those versions. ``problems`` are damage to the log itself (any makes the
    entry broken); ``projection_problems`` are disagreements of the derived ``current``
    row, which ``repair`` rebuilds."""

    entry_id: UUID
    environment: str | None = None
    area: str | None = None
    key: str | None = None
    events: list[LoggedEvent] = field(default_factory=list)
    index: list[IndexRecord] = field(default_factory=list)
    values: dict[int, JsonObject] = field(default_factory=dict)
    intact_through: int = 0
    latest: int = 0
    problems: list[Finding] = field(default_factory=list)
    projection_problems: list[Finding] = field(default_factory=list)
    snapshot_versions: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``env/area/key`` (the entry id when no row names an address)."""
        if self.environment is None:
            return str(self.entry_id)
        return f"{self.environment}/{self.area}/{self.key}"

    @property
    def label(self) -> str:
        """``env:area/key``, as ``verify`` names entries."""
        if self.environment is None:
            return str(self.entry_id)
        return f"{self.environment}:{self.area}/{self.key}"

    @property
    def broken(self) -> bool:
        """Whether the log itself is damaged."""
        return bool(self.problems)

    @property
    def first_problem(self) -> Finding | None:
        """The problem at the lowest position (unpositioned ones last)."""
        if not self.problems:
            return None
        return min(self.problems, key=lambda f: (f.position is None, f.position or 0))

    def add(self, version: int | None, position: int | None, problem: str) -> None:
        """Record a problem of the log."""
        self.problems.append(Finding(self.label, version, problem, position))


class StoreLike(Protocol):
    """What :func:`inspect_entry` needs of a store."""

    @property
    def mapper(self) -> Mapper[UUID]: ...

    @property
    def datastore(self) -> PostgresDatastore: ...


def _entry_rows(ds: PostgresDatastore, entry_id: UUID) -> tuple[list[Any], ...]:
    """Events, index rows, snapshot versions and ``current`` row of one entry, read in
    one snapshot of the database (a concurrent append must not look like damage)."""
    with ds.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
        curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        curs.execute(
            SQL(
                "SELECT notification_id, originator_version, topic, state FROM {}"
                " WHERE originator_id = %s ORDER BY originator_version"
            ).format(table(ds, EVENTS_TABLE)),
            (entry_id,),
        )
        events = list(curs.fetchall())
        positions = [int(r["notification_id"]) for r in events]
        curs.execute(
            SQL(
                "SELECT position, entry_id, version, environment, area, key FROM {}"
                " WHERE entry_id = %s OR position = ANY(%s) ORDER BY position"
            ).format(table(ds, INDEX_TABLE)),
            (entry_id, positions),
        )
        index = list(curs.fetchall())
        curs.execute(
            SQL(
                "SELECT originator_version FROM {} WHERE originator_id = %s"
                " ORDER BY originator_version"
            ).format(table(ds, SNAPSHOTS_TABLE)),
            (entry_id,),
        )
        snapshots = list(curs.fetchall())
        curs.execute(
            SQL(
                "SELECT c.version, c.position, p.position AS upto,"
                " c.environment, c.area, c.key, c.stored FROM {} c"
                " LEFT JOIN {} p ON p.name = 'current' WHERE c.entry_id = %s"
            ).format(table(ds, "cc_current"), table(ds, "cc_projection_positions")),
            (entry_id,),
        )
        current = list(curs.fetchall())
    return events, index, snapshots, current


def inspect_entry(store: StoreLike, entry_id: UUID) -> EntryLog:
    """Read the raw rows of one entry (its events, its index rows, the index rows at
    its events' positions, its snapshots and its ``current`` row) in one database
    snapshot and judge them. Database errors propagate as eventsourcing's."""
    events, index, snapshots, current = _entry_rows(store.datastore, entry_id)
    result = EntryLog(entry_id, index=[IndexRecord(**r) for r in index])
    result.snapshot_versions = [int(r["originator_version"]) for r in snapshots]
    _decode(store.mapper, entry_id, events, result)
    _name(result, current)
    check_versions(result)
    check_index(result)
    replay(result)
    honour_repair(result)
    check_current(current, result)
    # Problems found before the address was known carry the entry id: name them all.
    result.problems = [replace(f, entry=result.label) for f in result.problems]
    return result


def _decode(mapper: Mapper[UUID], entry_id: UUID, rows: list[Any], out: EntryLog) -> None:
    for row in rows:
        position, version = int(row["notification_id"]), int(row["originator_version"])
        stored = StoredEvent(
            originator_id=entry_id,
            originator_version=version,
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        try:
            event = mapper.to_domain_event(stored)
            if not isinstance(event, ConfigEntry.Event):
                raise TypeError(f"not an entry event ({row['topic']})")
        except Exception as exc:  # whatever the reason, the row is data we cannot read
            out.events.append(LoggedEvent(position, version, None))
            out.add(version, position, _undecodable(version, position, bytes(row["state"]), exc))
            continue
        out.events.append(LoggedEvent(position, version, event))
    out.latest = max((e.version for e in out.events), default=0)


def _undecodable(version: int, position: int, state: bytes, exc: Exception) -> str:
    """Why an event does not decode, never what it holds."""
    why = type(exc).__name__
    try:
        decoded = orjson.loads(state)
    except orjson.JSONDecodeError:
        why = "its state is not JSON"
    else:
        if not isinstance(decoded, dict):
            why = f"its state is JSON but not an object ({type(decoded).__name__})"
        else:
            why = "its state does not fit its event type"
    return f"event at version {version} (position {position}) does not decode: {why}"


def _name(out: EntryLog, current: list[Any]) -> None:
    """The entry's address: from an index row, else its creation event, else its
    ``current`` row: the first whose address hashes to the entry id."""
    named: list[tuple[str, str, str]] = [(r.environment, r.area, r.key) for r in out.index]
    named += [
        (e.event.environment, e.event.area, e.event.key)
        for e in out.events
        if isinstance(e.event, ConfigEntry.Created)
    ]
    named += [(r["environment"], r["area"], r["key"]) for r in current]
    for environment, area, key in named:
        if _entry_id(environment, area, key) == out.entry_id:
            out.environment, out.area, out.key = environment, area, key
            return


def address_of(found: EntryLog) -> Address | None:
    """The entry's address, if a row names one."""
    if found.environment is None or found.area is None or found.key is None:
        return None
    return Address(found.environment, found.area, found.key)
