"""The Redis mirror's read model: key names and the JSON it stores and publishes.

Pure (infrastructure encodes the documents as JSON): the rows come from
:func:`projections.current.next_current`, so a mirrored key always equals the entry's
``cc_current`` row. Secrets stay sealed (``enc:v1:…``).
"""

from __future__ import annotations

from typing import Any

from projections.current import CurrentRow
from projections.records import LogRecord


def key_part(name: str) -> str:
    """An environment, area or key name as written in a Redis key or channel.

    Names may contain ``:``; it is written ``%3A`` so that ``env:area:key`` stays
    unambiguous (``%`` cannot occur in a name, so the escape is reversible).
    """
    return name.replace(":", "%3A")


def entry_key(prefix: str, environment: str, area: str, key: str) -> str:
    """``{prefix}:{env}:{area}:{key}``: the Redis key of one entry."""
    return f"{prefix}:{key_part(environment)}:{key_part(area)}:{key_part(key)}"


def changes_channel(prefix: str, environment: str) -> str:
    """``{prefix}:{env}:changes``: the channel of one environment's changes."""
    return f"{prefix}:{key_part(environment)}:changes"


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
