"""The ``ConfigEntry`` aggregate in memory: commands, events, replay and snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import pytest
from pydantic import ValidationError

from domain.address import Address
from domain.entry import ConfigEntry, Provenance
from domain.errors import EntryStateError, NotFoundError, VersionConflictError
from domain.replay import event_changes, value_after
from domain.values import apply_json_patch, value_hash

ADDRESS = Address("staging", "router", "default")
WHO = Provenance(actor="alice", reason="tune retries", source="cli", correlation_id="corr-1")
BOB = Provenance(actor="bob", correlation_id="corr-2")


def new_entry(value: dict[str, Any] | None = None) -> ConfigEntry:
    return ConfigEntry.create(ADDRESS, value or {"max_retries": 2}, WHO, 1)


def collect(entry: ConfigEntry) -> list[ConfigEntry.Event]:
    events = entry.collect_events()
    assert all(isinstance(e, ConfigEntry.Event) for e in events)
    return cast("list[ConfigEntry.Event]", events)


def rebuild(events: list[ConfigEntry.Event]) -> ConfigEntry:
    entry = events[0].mutate(None)
    for event in events[1:]:
        entry = event.mutate(entry)
    assert isinstance(entry, ConfigEntry)
    return entry


def test_create() -> None:
    entry = new_entry()
    assert entry.version == 1
    assert entry.id == ADDRESS.entry_id
    assert entry.address == ADDRESS
    assert (entry.value, entry.deleted) == ({"max_retries": 2}, False)
    (event,) = collect(entry)
    assert isinstance(event, ConfigEntry.Created)
    assert (event.environment, event.area, event.key) == ("staging", "router", "default")
    assert event.value == {"max_retries": 2}
    assert event.originator_id == ADDRESS.entry_id
    assert event.originator_version == 1
    assert event.meta.model_dump() == {
        "actor": "alice",
        "reason": "tune retries",
        "source": "cli",
        "correlation_id": "corr-1",
        "schema_version": 1,
        "value_hash": value_hash({"max_retries": 2}),
    }
    assert entry.last_meta == event.meta.model_dump(mode="json")


def test_set() -> None:
    entry = new_entry()
    assert entry.set({"max_retries": 5, "fallbacks_enabled": True}, BOB, 2) is True
    _, event = collect(entry)
    assert isinstance(event, ConfigEntry.ValueReplaced)
    assert event.value == {"max_retries": 5, "fallbacks_enabled": True}
    assert sorted(event.changes, key=lambda op: op["path"]) == [
        {"op": "add", "path": "/fallbacks_enabled", "value": True},
        {"op": "replace", "path": "/max_retries", "value": 5},
    ]
    assert event.originator_version == 2
    assert (event.meta.actor, event.meta.source, event.meta.reason) == ("bob", "api", None)
    assert event.meta.schema_version == 2
    assert event.meta.value_hash == value_hash(event.value)
    assert (entry.version, entry.value) == (2, event.value)


def test_patch_records_rfc6902_patch_from_previous_value() -> None:
    entry = new_entry({"max_retries": 2, "default_strategy": "random"})
    assert entry.patch({"max_retries": 4, "retry_max_delay_ms": 900}, BOB, 1) is True
    _, event = collect(entry)
    assert isinstance(event, ConfigEntry.ValueChanged)
    assert sorted(event.patch, key=lambda op: op["path"]) == [
        {"op": "remove", "path": "/default_strategy"},
        {"op": "replace", "path": "/max_retries", "value": 4},
        {"op": "add", "path": "/retry_max_delay_ms", "value": 900},
    ]
    assert entry.value == {"max_retries": 4, "retry_max_delay_ms": 900}
    assert event.meta.value_hash == value_hash(entry.value)
    assert entry.version == 2


def test_roll_back() -> None:
    entry = new_entry()
    entry.set({"max_retries": 9}, WHO, 1)
    entry.roll_back(1, {"max_retries": 2}, BOB, 1)
    event = collect(entry)[-1]
    assert isinstance(event, ConfigEntry.RolledBack)
    assert (event.target_version, event.value) == (1, {"max_retries": 2})
    assert event.changes == [{"op": "replace", "path": "/max_retries", "value": 2}]
    assert event.meta.value_hash == value_hash({"max_retries": 2})
    assert (entry.version, entry.value) == (3, {"max_retries": 2})


def test_delete_and_undelete() -> None:
    entry = new_entry()
    entry.delete(BOB, 1)
    assert (entry.deleted, entry.version, entry.value) == (True, 2, {"max_retries": 2})
    entry.undelete(WHO, 1)
    assert (entry.deleted, entry.version) == (False, 3)
    _, deleted, restored = collect(entry)
    assert isinstance(deleted, ConfigEntry.Deleted)
    assert isinstance(restored, ConfigEntry.Restored)
    assert deleted.meta.actor == "bob"
    assert deleted.meta.value_hash == restored.meta.value_hash == value_hash({"max_retries": 2})
    assert entry.last_meta["actor"] == "alice"


def test_unchanged_records_nothing() -> None:
    entry = new_entry()
    collect(entry)
    assert entry.set({"max_retries": 2}, BOB, 1) is False
    assert entry.patch({"max_retries": 2}, BOB, 1) is False
    assert collect(entry) == []
    assert entry.version == 1


def test_set_on_deleted_entry_revives_it() -> None:
    entry = new_entry()
    entry.delete(WHO, 1)
    assert entry.set({"max_retries": 2}, WHO, 1) is True
    assert (entry.deleted, entry.version) == (False, 3)


@pytest.mark.parametrize(("expected", "fails"), [(None, False), (2, False), (1, True), (3, True)])
def test_check_version(expected: int | None, fails: bool) -> None:
    entry = new_entry()
    entry.set({"max_retries": 1}, WHO, 1)
    if not fails:
        entry.check_version(expected)
        return
    with pytest.raises(VersionConflictError) as info:
        entry.check_version(expected)
    assert (info.value.current, info.value.expected) == (2, expected)
    assert info.value.address == "router/default"


@pytest.mark.parametrize(
    "command",
    [
        lambda e: e.patch({"max_retries": 7}, WHO, 1),
        lambda e: e.delete(WHO, 1),
    ],
    ids=["change", "delete"],
)
def test_commands_on_deleted_entry(command: Any) -> None:
    entry = new_entry()
    entry.delete(WHO, 1)
    with pytest.raises(NotFoundError, match="router/default"):
        command(entry)
    assert entry.version == 2


def test_undelete_live_entry() -> None:
    entry = new_entry()
    with pytest.raises(EntryStateError, match="not deleted"):
        entry.undelete(WHO, 1)
    assert entry.version == 1


def test_events_are_frozen() -> None:
    entry = new_entry()
    entry.set({"max_retries": 4}, WHO, 1)
    created, replaced = collect(entry)
    with pytest.raises(ValidationError):
        created.value = {}  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        replaced.originator_version = 9  # type: ignore[misc]
    with pytest.raises(ValidationError):
        replaced.meta.actor = "mallory"  # type: ignore[misc]
    assert replaced.meta.actor == "alice"


def history() -> ConfigEntry:
    entry = new_entry({"max_retries": 1})
    entry.patch({"max_retries": 2, "default_strategy": "priority"}, WHO, 1)
    entry.set({"fallbacks_enabled": True}, BOB, 1)
    entry.delete(BOB, 1)
    entry.undelete(WHO, 1)
    entry.roll_back(2, {"max_retries": 2, "default_strategy": "priority"}, WHO, 1)
    entry.patch({"max_retries": 3, "default_strategy": "priority"}, WHO, 1)
    entry.delete(WHO, 1)
    return entry


def test_replay_rebuilds_the_same_state() -> None:
    entry = history()
    events = collect(entry)
    assert [e.originator_version for e in events] == list(range(1, 9))
    assert [type(e).event_name for e in events] == [
        "created", "changed", "replaced", "deleted", "restored", "rolled_back", "changed",
        "deleted",
    ]  # fmt: skip
    before: dict[str, Any] = {}
    for n in range(1, len(events) + 1):
        partial = rebuild(events[:n])
        assert partial.version == n
        assert partial.last_meta["value_hash"] == value_hash(partial.value)
        # Consumers without the aggregate follow values from the events alone.
        assert value_after(before, events[n - 1]) == partial.value
        assert apply_json_patch(before, event_changes(events[n - 1])) == partial.value
        before = partial.value
    rebuilt = rebuild(events)
    assert (rebuilt.value, rebuilt.version, rebuilt.deleted) == (
        entry.value,
        entry.version,
        entry.deleted,
    )
    assert rebuilt.value == {"max_retries": 3, "default_strategy": "priority"}
    assert rebuilt.deleted is True
    assert rebuilt.address == entry.address


def test_snapshot_round_trip_through_json() -> None:
    entry = history()
    collect(entry)
    data = ConfigEntry.Snapshot.take(entry).model_dump(mode="json")
    restored = ConfigEntry.Snapshot.model_validate(data).mutate(None)
    assert isinstance(restored, ConfigEntry)
    assert (restored.value, restored.version, restored.deleted) == (
        entry.value,
        entry.version,
        entry.deleted,
    )
    assert restored.address == entry.address
    assert restored.last_meta == entry.last_meta
    assert isinstance(restored._created_on, datetime)
    assert isinstance(restored._modified_on, datetime)
    assert restored._created_on == entry._created_on
    assert restored.modified_on == entry.modified_on
    # The restored aggregate keeps working.
    restored.undelete(WHO, 1)
    assert (restored.version, restored.deleted) == (9, False)
