"""Values already in the log that today's rules refuse, written as an older release
would have written them: no validation, no limits, any depth. The event is encoded by
the standard library's JSON (orjson and pydantic refuse more than ~254 levels) and
committed in one transaction, so a follower never sees anything else."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

import psycopg
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier
from pydantic import BaseModel

from domain.address import Address
from domain.entry import ConfigEntry, Provenance
from infrastructure.store import ConfigStore

OLDER = Provenance(actor="older-release", source="cli", correlation_id="older-release")
Encode = Callable[[dict[str, Any]], bytes]


def nested(depth: int) -> dict[str, Any]:
    """An object nested ``depth`` levels deep (itself included)."""
    value: dict[str, Any] = {"leaf": True}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def plain_json(state: dict[str, Any]) -> bytes:
    """How an encoder without a depth limit writes an event's state."""
    return json.dumps(state).encode()


@contextmanager
def older_encoder(store: ConfigStore, encode: Encode = plain_json) -> Iterator[None]:
    """While inside, ``store`` writes each event's state with ``encode`` (the values
    carried as they are, not through pydantic's serializer)."""
    mapper = store.app.mapper

    def to_stored_event(event: DomainEventProtocol[UUID]) -> StoredEvent:
        model = cast(BaseModel, event)
        carried = {"value", "changes", "patch"} & set(type(model).model_fields)
        state = model.model_dump(
            mode="json", exclude={"originator_id", "originator_version", *carried}
        )
        state.update({name: getattr(model, name) for name in carried})
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=get_topic(type(event)),
            state=encode(state),
        )

    mapper.to_stored_event = to_stored_event  # type: ignore[method-assign]
    try:
        yield
    finally:
        del mapper.to_stored_event


def write_unchecked(
    store: ConfigStore, address: Address, value: Any, *, encode: Encode = plain_json
) -> int:
    """Append an event setting ``address`` to ``value`` without any check (encoded by
    ``encode``); returns its log position."""
    entry = store.load(address)
    if entry is None:
        entry = ConfigEntry.create(address, value, OLDER, 1)
    else:
        entry.set(value, OLDER, 1)
    with older_encoder(store, encode):
        recordings = store.app.save(entry, addresses={entry.id: address})
    store.entries.drop(address.entry_id)
    return int(recordings[-1].notification.id)


def not_an_object(_: dict[str, Any]) -> bytes:
    """An encoder whose event row holds JSON that is not an object."""
    return b'"not an object"'


def set_event_state(store: ConfigStore, address: Address, version: int, data: bytes) -> None:
    """Replace the stored bytes of one event already written (tampering)."""
    schema = store.app.datastore.schema
    table = SQL("{}.{}").format(Identifier(schema), Identifier(store.app.events_table))
    with psycopg.connect(store.database_url, autocommit=True) as conn:
        conn.execute(
            SQL(
                "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = %s"
            ).format(table),
            (data, address.entry_id, version),
        )
