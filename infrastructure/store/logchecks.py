"""The checks :func:`~infrastructure.store.integrity.inspect_entry` makes of one entry's
raw rows: versions 1..N, the event index, the replay against the value hashes (from the
last repair on), and the ``current`` row. Each records what it finds on the
:class:`~infrastructure.store.integrity.EntryLog`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.address import _entry_id
from domain.entry import ConfigEntry
from domain.replay import value_after
from domain.values import JsonObject, json_equal, value_hash
from infrastructure.store.findings import Finding

if TYPE_CHECKING:
    from infrastructure.store.integrity import EntryLog, IndexRecord, LoggedEvent


def check_versions(out: EntryLog) -> None:
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


def check_index(out: EntryLog) -> None:
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


def replay(out: EntryLog) -> None:
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


def honour_repair(out: EntryLog) -> None:
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


def check_current(rows: list[Any], out: EntryLog) -> None:
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
    elif (proven := out.values.get(last.version)) is not None and not json_equal(
        rows[0]["stored"], proven
    ):
        out.projection_problems.append(
            Finding(
                out.label,
                version,
                f"the current read model's value differs from the log's value at version {version}",
                position,
            )
        )
