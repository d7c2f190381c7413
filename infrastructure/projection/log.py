"""Reading entry events from the log together with their index rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import Cursor
from psycopg.rows import RowMaker
from psycopg.sql import SQL, Composed, Identifier

from domain.entry import ConfigEntry
from projections.records import LogRecord

#: Columns every log read selects, in the order of :class:`LogRow`'s fields.
_COLUMNS = (
    "e.notification_id, e.originator_id, e.originator_version, e.topic, e.state,"
    " i.recorded_at, i.environment, i.area, i.key"
)


class LogRow(NamedTuple):
    """One row of :func:`log_query`: a stored event and its index columns (``None``
    where the index holds no row for the event)."""

    position: int
    entry_id: UUID
    version: int
    topic: str
    state: bytes
    recorded_at: datetime | None
    environment: str | None
    area: str | None
    key: str | None

    @property
    def address(self) -> tuple[str, str, str] | None:
        """Environment, area and key from the index; ``None`` when it has no row."""
        if self.environment is None or self.area is None or self.key is None:
            return None
        return self.environment, self.area, self.key


def log_row(cursor: Cursor[Any]) -> RowMaker[LogRow]:
    """Row factory for cursors that read :func:`log_query`: each row as a :class:`LogRow`."""
    return LogRow._make


def log_query(schema: str, events_table: str, where: str) -> Composed:
    """``SELECT`` of log rows joined with the index; ``where`` may use ``e.`` and ``i.``."""
    return SQL(
        "SELECT {c} FROM {s}.{e} e LEFT JOIN {s}.cc_event_index i"
        " ON i.position = e.notification_id WHERE {w}"
    ).format(c=SQL(_COLUMNS), s=Identifier(schema), e=Identifier(events_table), w=SQL(where))


def as_log_row(values: Sequence[Any]) -> LogRow:
    """``values`` as a :class:`LogRow` (rebuilt only when it is a plain tuple)."""
    return values if isinstance(values, LogRow) else LogRow._make(values)


def decode(mapper: Mapper[UUID], values: Sequence[Any]) -> LogRecord:
    """One row of :func:`log_query` (a :class:`LogRow` or a plain tuple) as a record.
    Raises ``ValueError`` when the index holds no row for its event, and what the
    mapper raises for an event that does not decode."""
    row = as_log_row(values)
    address = row.address
    if address is None or row.recorded_at is None:
        raise ValueError(f"the event at position {row.position} is not indexed")
    event = mapper.to_domain_event(
        StoredEvent(
            originator_id=row.entry_id,
            originator_version=row.version,
            topic=row.topic,
            state=row.state,
        )
    )
    assert isinstance(event, ConfigEntry.Event)
    return LogRecord(row.position, row.entry_id, row.version, row.recorded_at, *address, event)
