"""The ``audit`` read model: one row per event, secrets redacted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.replay import event_changes
from domain.secrets import redact
from projections.records import LogRecord


@dataclass(frozen=True)
class AuditRow:
    """Who changed what, when, why and through which channel."""

    position: int
    environment: str
    area: str
    key: str
    version: int
    event: str
    actor: str
    reason: str | None
    source: str
    correlation_id: str
    recorded_at: datetime
    changes: list[dict[str, Any]]


def audit_row(record: LogRecord) -> AuditRow:
    """The audit row of one log record."""
    meta = record.event.meta
    return AuditRow(
        position=record.position,
        environment=record.environment,
        area=record.area,
        key=record.key,
        version=record.version,
        event=record.event.event_name,
        actor=meta.actor,
        reason=meta.reason,
        source=meta.source,
        correlation_id=meta.correlation_id,
        recorded_at=record.recorded_at,
        changes=redact(event_changes(record.event)),
    )
