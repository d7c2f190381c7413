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
from psycopg.sql import SQL, Composed, Identifier

from domain.address import Address, _entry_id
from domain.entry import ConfigEntry
from domain.replay import value_after
from domain.values import JsonObject, value_hash
from infrastructure.persistence.recorder import EVENTS_TABLE, INDEX_TABLE
from infrastructure.store.findings import Finding
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


def _table(datastore: PostgresDatastore, name: str) -> Composed:
    return SQL("{}.{}").format(Identifier(datastore.schema), Identifier(name))


def _query(datastore: PostgresDatastore, query: Composed, params: tuple[Any, ...]) -> list[Any]:
    with datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(query, params)
        return list(curs.fetchall())


def _entry_rows(ds: PostgresDatastore, entry_id: UUID) -> tuple[list[Any], ...]:
    """Events, index rows, snapshot versions and ``current`` row of one entry, read in
    one snapshot of the database (a concurrent append must not look like damage)."""
    with ds.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
        curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        curs.execute(
            SQL(
                "SELECT notification_id, originator_version, topic, state FROM {}"
                " WHERE originator_id = %s ORDER BY originator_version"
            ).format(_table(ds, EVENTS_TABLE)),
            (entry_id,),
        )
        events = list(curs.fetchall())
        positions = [int(r["notification_id"]) for r in events]
        curs.execute(
            SQL(
                "SELECT position, entry_id, version, environment, area, key FROM {}"
                " WHERE entry_id = %s OR position = ANY(%s) ORDER BY position"
            ).format(_table(ds, INDEX_TABLE)),
            (entry_id, positions),
        )
        index = list(curs.fetchall())
        curs.execute(
            SQL(
                "SELECT originator_version FROM {} WHERE originator_id = %s"
                " ORDER BY originator_version"
            ).format(_table(ds, SNAPSHOTS_TABLE)),
            (entry_id,),
        )
        snapshots = list(curs.fetchall())
        curs.execute(
            SQL(
                "SELECT c.version, c.position, p.position AS upto,"
                " c.environment, c.area, c.key FROM {} c"
                " LEFT JOIN {} p ON p.name = 'current' WHERE c.entry_id = %s"
            ).format(_table(ds, "cc_current"), _table(ds, "cc_projection_positions")),
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
    _check_versions(result)
    _check_index(result)
    _replay(result)
    _honour_repair(result)
    _check_current(current, result)
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


def _check_versions(out: EntryLog) -> None:
    """Versions must run 1..N without a gap; a missing one is named by its index row's
    position when the index still has it, else by the positions around it."""
    indexed = {r.version: r.position for r in out.index if r.entry_id == out.entry_id}
    expected, before = 1, 0
    for item in out.events:
        if item.version > expected:
            missing = (
                f"version {expected}"
                if item.version == expected + 1
                else f"versions {expected}..{item.version - 1}"
            )
            at = indexed.get(expected)
            where = (
                f"at position {at}"
                if at is not None
                else f"between positions {before} and {item.position}"
            )
            out.add(expected, at, f"{missing} missing ({where}): event deleted")
        expected, before = item.version + 1, item.position
    _check_deleted_tail(out, indexed, expected)


def _check_deleted_tail(out: EntryLog, indexed: dict[int, int], expected: int) -> None:
    later = sorted(v for v in indexed if v >= expected)
    if later:
        first = later[0]
        out.add(
            first,
            indexed[first],
            f"version {first} is in the event index at position {indexed[first]} "
            "but its event is missing: event deleted",
        )


def _check_index(out: EntryLog) -> None:
    """Every event has its own index row: same position, entry and version, and an
    address whose id is the entry's."""
    by_position = {r.position: r for r in out.index}
    if out.events and not any(r.entry_id == out.entry_id for r in out.index):
        first = out.events[0]
        out.add(
            first.version,
            first.position,
            f"the entry's events (from position {first.position}) have no event index rows:"
            " events inserted outside the store",
        )
        return
    for item in out.events:
        row = by_position.get(item.position)
        if row is None:
            out.add(
                item.version, item.position, f"event at position {item.position} has no index row"
            )
            continue
        bad = _index_mismatch(out, item, row)
        if bad:
            out.add(item.version, item.position, f"index row at position {item.position} {bad}")


def _index_mismatch(out: EntryLog, item: LoggedEvent, row: IndexRecord) -> str:
    if row.entry_id != out.entry_id:
        return "belongs to another entry"
    if row.version != item.version:
        return f"says version {row.version}, the event is version {item.version}"
    if _entry_id(row.environment, row.area, row.key) != out.entry_id:
        return f"names address {row.environment}/{row.area}/{row.key}, not the entry's"
    created = item.event
    if isinstance(created, ConfigEntry.Created) and (
        (created.environment, created.area, created.key) != (row.environment, row.area, row.key)
    ):
        return "names another address than the entry's creation event"
    return ""


def _replay(out: EntryLog) -> None:
    """Replay versions 1..: each must be present, decode, apply and match its hash."""
    value: JsonObject = {}
    for expected, item in enumerate(out.events, start=1):
        if item.version != expected or item.event is None:
            return
        try:
            value = value_after(value, item.event)
            digest = value_hash(value)
        except Exception as exc:  # a patch that does not apply, a value too deep to hash
            out.add(
                item.version,
                item.position,
                f"change at version {item.version} (position {item.position}) does not apply"
                f" ({type(exc).__name__})",
            )
            return
        if digest != item.event.meta.value_hash:
            out.add(
                item.version,
                item.position,
                f"value at version {item.version} (position {item.position})"
                " does not match its hash",
            )
            return
        out.values[item.version] = value
        out.intact_through = item.version


def _honour_repair(out: EntryLog) -> None:
    """Damage before the last ``Reestablished`` event a repair appended is history, not a
    problem: that event proves the entry's state again (history is never edited, so the
    gap stays). The replay goes on from it."""
    mends = [n for n, item in enumerate(out.events) if _mends(item.event)]
    if not mends:
        return
    start = out.events[mends[-1]].version
    out.problems = [p for p in out.problems if p.version is None or p.version >= start]
    if out.intact_through >= start:
        return
    value: JsonObject = {}
    for expected, item in enumerate(out.events[mends[-1] :], start=start):
        if item.version != expected or item.event is None:
            return  # reported by the version and decoding checks
        value = value_after(value, item.event)
        if _hash(value) != item.event.meta.value_hash:
            out.add(
                item.version,
                item.position,
                f"value at version {item.version} (position"
                f" {item.position}) does not match its hash",
            )
            return
        out.values[item.version] = value
        out.intact_through = item.version


def _mends(event: ConfigEntry.Event | None) -> bool:
    return (
        isinstance(event, ConfigEntry.Reestablished)
        and event.meta.source == "repair"
        and _hash(event.value) == event.meta.value_hash
    )


def _hash(value: Any) -> str:
    try:
        return value_hash(value)
    except Exception:  # a value too deep to hash, or a patch result that is not a value
        return ""


def _check_current(rows: list[Any], out: EntryLog) -> None:
    """The ``current`` row must describe the entry's last event, once the projection
    has got that far; a row for an entry without events means its events were deleted."""
    if not rows:
        return
    version, position = int(rows[0]["version"]), int(rows[0]["position"])
    if not out.events:
        out.add(
            version,
            position,
            f"the current value (version {version}, position {position}) has no events:"
            " events deleted",
        )
        return
    last = out.events[-1]
    if int(rows[0]["upto"] or 0) < last.position:
        return  # the projection has not got there yet
    if (version, position) != (last.version, last.position):
        out.projection_problems.append(
            Finding(
                out.label,
                version,
                f"the current read model says version {version} at position {position};"
                f" the log's last event is version {last.version} at position {last.position}",
                position,
            )
        )


def address_of(found: EntryLog) -> Address | None:
    """The entry's address, if a row names one."""
    if found.environment is None or found.area is None or found.key is None:
        return None
    return Address(found.environment, found.area, found.key)
