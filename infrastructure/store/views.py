"""Plain result types returned by the store (values keep secrets sealed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.address import Address
from domain.areas.scheduled_change import ScheduledChange


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a command: the entry's version and the log position of its last event."""

    address: Address
    version: int
    position: int
    changed: bool


@dataclass(frozen=True)
class EntryView:
    """An entry at one version: the complete value (defaults filled) and the stored one."""

    address: Address
    version: int
    value: dict[str, Any]
    stored: dict[str, Any]
    deleted: bool
    recorded_at: datetime | None
    position: int | None
    actor: str
    reason: str | None
    value_hash: str


@dataclass(frozen=True)
class HistoryItem:
    """One event of an entry's history; ``changes`` are RFC 6902 operations."""

    version: int
    event: str
    actor: str
    reason: str | None
    source: str
    correlation_id: str
    recorded_at: datetime | None
    position: int | None
    changes: list[dict[str, Any]]
    value_hash: str
    target_version: int | None = None


@dataclass(frozen=True)
class ScheduledView:
    """A scheduled change as stored (values keep secrets sealed), with the schedule
    entry's own version and, once applied, the log position of the target's event."""

    id: str
    change: ScheduledChange
    version: int
    updated_at: datetime | None
    applied_position: int | None

    @property
    def target(self) -> Address:
        """The entry the change applies to."""
        return self.change.target

    @property
    def status(self) -> str:
        """pending, applied, cancelled or failed."""
        return self.change.status

    @property
    def result(self) -> str | None:
        """What applying did, or why the change failed or was cancelled."""
        return self.change.result
