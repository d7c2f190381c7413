"""What each event of a :class:`~domain.entry.ConfigEntry` does to its stored value, for
readers that replay events without loading the aggregate (projections, environment
replays, ``verify``)."""

from __future__ import annotations

from domain.entry import ConfigEntry
from domain.values import JsonObject, json_diff


def value_after(value: JsonObject, event: ConfigEntry.Event) -> JsonObject:
    """The stored value after ``event``, given the value before it (the event's own rule,
    as the aggregate applies it)."""
    return event.value_after(value)


def deleted_after(deleted: bool, event: ConfigEntry.Event) -> bool:
    """Whether the entry is deleted after ``event``, given whether it was before."""
    return event.deleted_after(deleted)


def event_changes(event: ConfigEntry.Event) -> list[JsonObject]:
    """The RFC 6902 operations an event made to the stored value."""
    if isinstance(event, ConfigEntry.Created):
        return json_diff({}, event.value)
    if isinstance(event, ConfigEntry.ValueChanged):
        return list(event.patch)
    if isinstance(
        event, ConfigEntry.ValueReplaced | ConfigEntry.RolledBack | ConfigEntry.Reestablished
    ):
        return list(event.changes)
    return []
