"""The checkpoint step of ``repair``: automatic environment checkpoints from a damaged
position on are dropped, then every environment changed since its last one is
checkpointed again (named snapshots are user data and kept)."""

from __future__ import annotations

from psycopg.sql import SQL

from infrastructure.persistence.tables import table
from infrastructure.projection.checkpoints import CheckpointSink
from infrastructure.store.base import StoreBase

CHECKPOINTS_TABLE = "cc_checkpoints"


def drop_checkpoints(store: StoreBase, damaged_from: dict[str, int]) -> int:
    """Drop the automatic checkpoints of each environment at or after its first damaged
    position; returns how many. Raises psycopg errors (callers map them)."""
    dropped = 0
    query = SQL("DELETE FROM {} WHERE name IS NULL AND environment = %s AND position >= %s").format(
        table(store.app.datastore, CHECKPOINTS_TABLE)
    )
    with store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        for env, first in damaged_from.items():
            cur.execute(query, (env, first))
            dropped += cur.rowcount
    return dropped


def checkpoint_changed(store: StoreBase) -> int:
    """Checkpoint every environment whose last event has none, at that event; returns
    how many were written. Raises psycopg errors (callers map them)."""
    store.projections.catch_up(["checkpoints"])
    sink = store.projections.sink("checkpoints")
    assert isinstance(sink, CheckpointSink)
    return store.projections.run_locked("checkpoints", sink.checkpoint_changed)
