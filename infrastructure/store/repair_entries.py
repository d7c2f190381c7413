"""What ``repair`` can still prove of an entry whose own log is damaged, and the one event
that re-establishes it.

An event's value hash proves the value after it, whatever happened before: so the newest
provable state is found by replaying the events that are there (each applied to the last
proven value, or taken from a snapshot the event at its version confirms) and keeping the
last one whose hash matches. History is never edited: the repair appends a
:class:`~domain.entry.ConfigEntry.Reestablished` event after every version the log ever
had (the event index remembers deleted ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.address import Address
from domain.entry import ConfigEntry
from domain.replay import deleted_after, value_after
from domain.values import JsonObject, value_hash
from infrastructure.store.integrity import EntryLog, LoggedEvent, address_of


@dataclass(frozen=True)
class Proven:
    """A state of the entry its log still proves."""

    version: int
    value: JsonObject
    deleted: bool
    source: str  # "version N" or "snapshot at version N"


@dataclass
class EntryDamage:
    """One entry's damage and what repair does about it (``action``: ``reestablish``,
    ``remove`` when nothing is left to prove a state, or ``none``)."""

    entry_id: UUID
    label: str
    address: Address | None
    latest: int
    missing: list[int] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)
    mismatched: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    proven: Proven | None = None
    has_events: bool = False

    @property
    def damaged(self) -> bool:
        """Whether the entry's own log is damaged (index-only trouble is not)."""
        return bool(self.missing or self.unreadable or self.mismatched)

    @property
    def action(self) -> str:
        """``reestablish``, ``remove`` or ``none``."""
        if not self.damaged:
            return "none"
        return "reestablish" if self.proven is not None and self.address else "remove"

    @property
    def damage(self) -> str:
        """The damage in words (``versions 3-4 missing; version 6 unreadable``)."""
        parts = [
            _versions(self.missing, "missing"),
            _versions(self.unreadable, "does not decode", "do not decode"),
            _versions(
                self.mismatched, "does not replay to its hash", "do not replay to their hashes"
            ),
        ]
        return "; ".join(p for p in parts if p)

    @property
    def outcome(self) -> str:
        """What the repair does, in words."""
        if self.action == "reestablish":
            assert self.proven is not None
            deleted = " (deleted)" if self.proven.deleted else ""
            return f"re-established at version {self.latest + 1} from {self.proven.source}{deleted}"
        if self.has_events:
            return "nothing it proves: cannot be re-established; stays quarantined"
        return "every event gone: cannot be re-established; its derived rows are removed"

    @property
    def reason(self) -> str:
        """What the repair event records as its reason."""
        if self.proven is None:
            return f"{self.damage}; nothing intact to re-establish"
        return f"{self.damage}; re-established from {self.proven.source}"

    def to_json(self) -> dict[str, Any]:
        """Plain form for reports (never a value)."""
        return {
            "entry": self.label,
            "action": self.action,
            "damage": self.damage,
            "latest_version": self.latest,
            "new_version": self.latest + 1 if self.action == "reestablish" else None,
            "from": self.proven.source if self.proven else None,
            "outcome": self.outcome,
            "positions": sorted(set(self.positions)),
        }


def _versions(found: list[int], one: str, many: str | None = None) -> str:
    if not found:
        return ""
    ranges: list[str] = []
    for version in sorted(set(found)):
        if ranges and ranges[-1].rpartition("-")[2] == str(version - 1):
            ranges[-1] = f"{ranges[-1].partition('-')[0]}-{version}"
        else:
            ranges.append(str(version))
    plural = len(found) > 1
    noun = "versions" if plural else "version"
    verb = (many or one) if plural else one
    return f"{noun} {', '.join(ranges)} {verb}"


def assess(log: EntryLog, snapshots: dict[int, tuple[JsonObject, bool]]) -> EntryDamage:
    """Judge one entry's log (``snapshots``: version -> (value, deleted) of the snapshots
    that decode). Damage before a proven ``Reestablished`` event was mended by an earlier
    repair and is not counted again."""
    present = {item.version for item in log.events}
    orphans = {
        r.version: r.position
        for r in log.index
        if r.entry_id == log.entry_id and r.version not in present
    }
    latest = max([*present, *orphans, 0])
    walk = _Walk(EntryDamage(log.entry_id, log.label, address_of(log), latest), snapshots)
    for item in log.events:
        walk.step(item, orphans)
    found = walk.found
    tail = [v for v in orphans if v >= walk.expected]
    found.missing.extend(sorted(tail))
    found.positions.extend(orphans[v] for v in tail)
    if not log.events:  # every event gone; rows derived from them may be left
        found.missing = sorted(orphans) or sorted({f.version or 1 for f in log.problems})
    found.proven = walk.proven
    found.has_events = bool(log.events)
    return found


class _Walk:
    """Replays an entry's events in version order, noting damage and the newest proven
    state. Each event is tried on the last proven value and on the value replayed through
    the damage (a tampered value a later patch overwrote): its hash decides."""

    def __init__(self, found: EntryDamage, snapshots: dict[int, tuple[JsonObject, bool]]):
        self.found = found
        self.snapshots = snapshots
        self.proven: Proven | None = None
        self.running: JsonObject = {}
        self.expected = 1

    def step(self, item: LoggedEvent, orphans: dict[int, int]) -> None:
        found, event = self.found, item.event
        if item.version > self.expected:
            gone = range(self.expected, item.version)
            found.missing.extend(gone)
            found.positions.extend(orphans[v] for v in gone if v in orphans)
        self.expected = item.version + 1
        if event is None:
            found.unreadable.append(item.version)
            found.positions.append(item.position)
            return
        proven = self._prove(event)
        self.running = proven.value if proven is not None else _after(self.running, event)
        if proven is None:
            found.mismatched.append(item.version)
            found.positions.append(item.position)
            return
        self.proven = proven
        if isinstance(event, ConfigEntry.Reestablished) and event.meta.source == "repair":
            found.missing, found.unreadable, found.mismatched, found.positions = [], [], [], []

    def _prove(self, event: ConfigEntry.Event) -> Proven | None:
        """The state after ``event`` if its value hash proves it, else ``None``."""
        version, before = event.originator_version, self.proven
        bases = [before.value if before is not None else {}, self.running]
        for base in bases:
            value = _after(base, event)
            if value is not None and _hash(value) == event.meta.value_hash:
                return Proven(version, value, _deleted(before, event), f"version {version}")
        snapshot = self.snapshots.get(version)
        if snapshot is not None and _hash(snapshot[0]) == event.meta.value_hash:
            return Proven(version, snapshot[0], snapshot[1], f"the snapshot at version {version}")
        return None


def _after(value: JsonObject | None, event: ConfigEntry.Event) -> Any:
    """``value_after``, or ``None`` when the event's change does not apply."""
    try:
        return value_after(value or {}, event)
    except Exception:  # a patch that does not apply to a value it was not made for
        return None


def _deleted(before: Proven | None, event: ConfigEntry.Event) -> bool:
    # A patch is only ever recorded on a live entry, even after a version gone missing.
    if isinstance(event, ConfigEntry.ValueChanged):
        return False
    return deleted_after(before.deleted if before is not None else False, event)


def _hash(value: Any) -> str:
    try:
        return value_hash(value)
    except Exception:  # not a value we could have written
        return ""
