"""What a projection consumes: one event of the log with its position and address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.entry import ConfigEntry


@dataclass(frozen=True)
class LogRecord:
    """An entry event at a log position, as recorded (``recorded_at`` from the index)."""

    position: int
    entry_id: UUID
    version: int
    recorded_at: datetime
    environment: str
    area: str
    key: str
    event: ConfigEntry.Event
