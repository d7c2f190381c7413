"""Reading entry events from the log together with their index rows."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from psycopg.sql import SQL, Composed, Identifier

from domain.entry import ConfigEntry
from projections.records import LogRecord

#: Columns every log read selects, in the order :func:`decode` expects.
_COLUMNS = (
    "e.notification_id, e.originator_id, e.originator_version, e.topic, e.state,"
    " i.recorded_at, i.environment, i.area, i.key"
)


def log_query(schema: str, events_table: str, where: str) -> Composed:
    """``SELECT`` of log rows joined with the index; ``where`` may use ``e.`` and ``i.``."""
    return SQL(
        "SELECT {c} FROM {s}.{e} e LEFT JOIN {s}.cc_event_index i"
        " ON i.position = e.notification_id WHERE {w}"
    ).format(c=SQL(_COLUMNS), s=Identifier(schema), e=Identifier(events_table), w=SQL(where))


def decode(mapper: Mapper[UUID], row: tuple[Any, ...]) -> LogRecord:
    """One row of :func:`log_query` as a record (its index columns must be present)."""
    event = mapper.to_domain_event(
        StoredEvent(originator_id=row[1], originator_version=row[2], topic=row[3], state=row[4])
    )
    assert isinstance(event, ConfigEntry.Event)
    return LogRecord(
        position=row[0],
        entry_id=row[1],
        version=row[2],
        recorded_at=row[5],
        environment=row[6],
        area=row[7],
        key=row[8],
        event=event,
    )
