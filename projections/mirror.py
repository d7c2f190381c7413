"""The Redis mirror's read model: the JSON it stores and publishes (the key names are
infrastructure's: ``infrastructure/cluster/redis_keys.py``).

Pure (infrastructure encodes the documents as JSON): the rows come from
:func:`projections.current.next_current`, so a mirrored key always equals the entry's
``cc_current`` row. Secrets stay sealed (``enc:v1:…``).
"""

from __future__ import annotations

from typing import Any

from projections.current import CurrentRow
from projections.records import LogRecord


def entry_document(row: CurrentRow) -> dict[str, Any]:
    """The document of an entry's key: its complete value and where it came from."""
    return {
        "environment": row.environment,
        "area": row.area,
        "key": row.key,
        "value": row.value,
        "version": row.version,
        "position": row.position,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
    }


def change_message(record: LogRecord, row: CurrentRow) -> dict[str, Any]:
    """The message published for one event; ``row`` is the entry's state after it."""
    return {
        "position": record.position,
        "environment": row.environment,
        "area": row.area,
        "key": row.key,
        "version": record.version,
        "event": record.event.event_name,
        "deleted": row.deleted,
        "value": None if row.deleted else row.value,
    }
