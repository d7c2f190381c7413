"""Plain result types returned by the store (values keep secrets sealed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.address import Address


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
