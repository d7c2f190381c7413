"""Entry snapshots ``repair`` drops: those that do not decode, and those whose value is not
the one the entry's intact events replay to (a snapshot is derived from the log, and a
lying one would be served by every read that starts from it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier

from infrastructure.store.base import StoreBase
from infrastructure.store.integrity import SNAPSHOTS_TABLE, EntryLog

log = logging.getLogger("conduit_config.repair")


@dataclass(frozen=True)
class BadSnapshot:
    """One snapshot to drop: its entry, version and why."""

    entry_id: UUID
    entry: str
    version: int
    problem: str

    def to_json(self) -> dict[str, Any]:
        """``{entry, version, problem}``."""
        return {"entry": self.entry, "version": self.version, "problem": self.problem}


def bad_snapshots(store: StoreBase, found: EntryLog) -> list[BadSnapshot]:
    """The entry's snapshots that do not decode or differ from its replayed events
    (snapshots inside a damaged span are left to the re-establishing). Raises
    eventsourcing's database errors."""
    if store.app.snapshots is None or not found.snapshot_versions:
        return []
    bad = []
    for stored in store.app.snapshots.recorder.select_events(found.entry_id):
        version = stored.originator_version
        try:
            state = getattr(store.app.mapper.to_domain_event(stored), "state", None)
        except Exception as exc:  # any snapshot we cannot read is dropped, never served
            log.info("snapshot %s of %s unread (%s)", version, found.entry_id, exc)
            bad.append(BadSnapshot(found.entry_id, found.label, version, "does not decode"))
            continue
        if version > found.intact_through or version not in found.values:
            continue
        if not isinstance(state, dict) or state.get("value") != found.values[version]:
            problem = "differs from the replayed events"
            bad.append(BadSnapshot(found.entry_id, found.label, version, problem))
    return bad


def drop_snapshots(store: StoreBase, bad: list[BadSnapshot]) -> None:
    """Delete the snapshot rows. Raises eventsourcing's database errors."""
    query = SQL("DELETE FROM {}.{} WHERE originator_id = %s AND originator_version = %s").format(
        Identifier(store.app.datastore.schema), Identifier(SNAPSHOTS_TABLE)
    )
    with store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        for snapshot in bad:
            cur.execute(query, (snapshot.entry_id, snapshot.version))
