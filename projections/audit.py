"""The ``audit`` read model: one row per event, secrets redacted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.address import SYSTEM_ENVIRONMENT
from domain.areas.registry import AreaRegistry
from domain.errors import AreaNotFoundError
from domain.replay import event_changes
from domain.secret_views import Schema, redact_ops
from projections.records import LogRecord

#: ``(environment, area)`` to the schema deciding which fields are secret.
SchemaOf = Callable[[str, str], Schema]


def registry_schemas(registry: AreaRegistry) -> SchemaOf:
    """Which fields are secret, by the registry's area schemas. ``None`` (anything that
    looks sealed is redacted) for an area no longer registered and for the system
    environment, whose scheduled changes hold other areas' values."""

    def schema_of(environment: str, area: str) -> Schema:
        if environment == SYSTEM_ENVIRONMENT:
            return None
        try:
            return registry.get(area)
        except AreaNotFoundError:
            return None

    return schema_of


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


def audit_row(record: LogRecord, schema: Schema) -> AuditRow:
    """The audit row of one log record; ``schema`` (its area's) says which changed fields
    are secret: those are redacted, any other is kept as it is."""
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
        changes=redact_ops(event_changes(record.event), schema),
    )
