"""The ``current`` read model: one row per entry with its latest value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.areas.registry import AreaRegistry
from domain.errors import ConfigStoreError
from domain.replay import deleted_after, value_after
from domain.stored import PATCH_ERRORS
from domain.values import complete, json_equal
from projections.records import LogRecord

#: Fills schema defaults into a stored value: ``(area, key, stored) -> complete``.
Completer = Callable[[str, str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class CurrentRow:
    """Latest state of one entry; values keep secrets sealed."""

    entry_id: UUID
    environment: str
    area: str
    key: str
    value: dict[str, Any]
    stored: dict[str, Any]
    version: int
    position: int
    updated_at: datetime
    updated_by: str
    deleted: bool


def next_current(row: CurrentRow | None, record: LogRecord, complete: Completer) -> CurrentRow:
    """The row after ``record``'s event."""
    event = record.event
    before = row.stored if row else {}
    try:
        stored = value_after(before, event)
    except (*PATCH_ERRORS, TypeError, ValueError):
        # A change that no longer applies (an event before it is gone): the entry's log is
        # broken, which reads report; the projection must not stop on it.
        stored = before
    deleted = deleted_after(row.deleted if row else False, event)
    base = row or CurrentRow(
        entry_id=record.entry_id,
        environment=record.environment,
        area=record.area,
        key=record.key,
        value={},
        stored={},
        version=0,
        position=0,
        updated_at=record.recorded_at,
        updated_by="",
        deleted=False,
    )
    value = (
        base.value
        if row and json_equal(stored, base.stored)
        else complete(record.area, record.key, stored)
    )
    return replace(
        base,
        value=value,
        stored=stored,
        version=record.version,
        position=record.position,
        updated_at=record.recorded_at,
        updated_by=event.meta.actor,
        deleted=deleted,
    )


def registry_completer(registry: AreaRegistry) -> Completer:
    """Complete values with their area's defaults; a value that no longer validates
    (unknown area, older schema) is kept as stored."""

    def complete_value(area: str, key: str, stored: dict[str, Any]) -> dict[str, Any]:
        try:
            return complete(registry.get(area), stored, key=key, limits=registry.limits)
        except ConfigStoreError:
            return dict(stored)

    return complete_value
