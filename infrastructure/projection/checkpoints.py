"""Environment checkpoints: whole-environment states at log positions.

A state at position P is the nearest checkpoint at or before P plus the environment's
events after it, replayed. The ``checkpoints`` projection stores one every N events of an
environment; a named snapshot is a checkpoint with a name, taken on demand. Functions
take the caller's cursor, so a projection batch reads the checkpoints it just wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper
from psycopg import Cursor
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from domain.environment import EnvState
from domain.stored import EntryProblem, advance_checked
from infrastructure.projection.log import log_query
from infrastructure.projection.tolerant import (
    BrokenRow,
    decode_each,
    state_from_items,
    state_items,
    warn_once,
)
from projections.records import LogRecord

log = logging.getLogger("conduit_config.checkpoints")


@dataclass(frozen=True)
class CheckpointInfo:
    """A stored checkpoint without its state."""

    environment: str
    name: str | None
    position: int
    recorded_at: datetime | None
    created_at: datetime
    created_by: str | None
    reason: str | None
    entry_count: int
    #: Entries a read of this state leaves out (filled by whoever checked them).
    problems: tuple[EntryProblem, ...] = ()


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


class Checkpoints:
    """Reads and writes ``cc_checkpoints`` and replays the log between checkpoints.
    Database errors propagate (psycopg's)."""

    def __init__(self, *, schema: str, events_table: str, mapper: Mapper[UUID]) -> None:
        self._mapper = mapper
        self.table = SQL("{}.cc_checkpoints").format(Identifier(schema))
        self.index = SQL("{}.cc_event_index").format(Identifier(schema))
        self._replay = log_query(
            schema,
            events_table,
            "i.environment = %s AND i.position > %s AND i.position <= %s ORDER BY i.position",
        )
        self._info = SQL(
            "environment, name, position, recorded_at, created_at, created_by, reason, entry_count"
        )

    def state_at(self, cur: Cursor[Any], environment: str, position: int) -> EnvState:
        """The environment (deleted entries included) after every event up to ``position``.
        An entry whose events cannot be replayed is a :class:`~domain.stored.BrokenEntry`;
        the others are unaffected."""
        start, state = self._nearest(cur, environment, position)
        for item in self.replay(cur, environment, start, position):
            if isinstance(item, BrokenRow):
                item.mark(state)
            else:
                advance_record(state, item)
        return state

    def _nearest(self, cur: Cursor[Any], environment: str, position: int) -> tuple[int, EnvState]:
        """The latest checkpoint at or before ``position`` that can be read (a damaged one
        is skipped: the log still holds what it summed up)."""
        while True:
            cur.execute(
                SQL(
                    "SELECT position, state::text FROM {} WHERE environment = %s"
                    " AND position <= %s ORDER BY position DESC LIMIT 1"
                ).format(self.table),
                (environment, position),
                prepare=True,
            )
            row = cur.fetchone()
            if row is None:
                return 0, {}
            found = int(row[0])
            try:
                return found, state_from_items(orjson.loads(row[1]))
            except (orjson.JSONDecodeError, ValueError) as exc:
                warn_once(
                    "checkpoint",
                    found,
                    "checkpoint of %s at position %d cannot be read (%s); using an earlier one",
                    environment,
                    found,
                    exc,
                )
                position = found - 1

    def replay(
        self, cur: Cursor[Any], environment: str, after: int, upto: int
    ) -> list[LogRecord | BrokenRow]:
        """The environment's events in ``(after, upto]``, in log order (a row that does
        not decode as a :class:`BrokenRow`)."""
        cur.execute(self._replay, (environment, after, upto), prepare=True)
        return decode_each(self._mapper, cur.fetchall())

    def save(
        self,
        cur: Cursor[Any],
        *,
        environment: str,
        position: int,
        state: EnvState,
        name: str | None = None,
        created_by: str | None = None,
        reason: str | None = None,
    ) -> list[EntryProblem]:
        """Store ``state`` as the environment's checkpoint at ``position``; returns the
        entries written marked broken because their value cannot be encoded (logged)."""
        entries, marked = state_items(state[k] for k in sorted(state))
        for problem in marked:
            log.warning(
                "checkpoint of %s at position %d: %s left out: %s",
                environment,
                position,
                problem.entry,
                problem.reason,
            )
        cur.execute(
            SQL(
                "INSERT INTO {} (environment, name, position, recorded_at, created_by, reason,"
                " entry_count, state) VALUES (%s, %s, %s,"
                " (SELECT recorded_at FROM {} WHERE position = %s), %s, %s, %s, %s)"
            ).format(self.table, self.index),
            (
                environment,
                name,
                position,
                position,
                created_by,
                reason,
                sum(1 for e in state.values() if not e.deleted),
                Jsonb(entries, dumps=_dumps),
            ),
        )
        return marked

    def find(self, cur: Cursor[Any], environment: str, name: str) -> CheckpointInfo | None:
        """The named snapshot, if any."""
        cur.execute(
            SQL("SELECT {} FROM {} WHERE environment = %s AND name = %s").format(
                self._info, self.table
            ),
            (environment, name),
        )
        row = cur.fetchone()
        return CheckpointInfo(*row) if row else None

    def list(self, cur: Cursor[Any], environment: str, *, named_only: bool) -> list[CheckpointInfo]:
        """Checkpoints of an environment, newest first."""
        cur.execute(
            SQL(
                "SELECT {} FROM {} WHERE environment = %s AND (name IS NOT NULL OR NOT %s)"
                " ORDER BY position DESC, id DESC"
            ).format(self._info, self.table),
            (environment, named_only),
        )
        return [CheckpointInfo(*row) for row in cur.fetchall()]

    def delete(self, cur: Cursor[Any], environment: str, name: str) -> bool:
        """Delete a named snapshot; False if there was none."""
        cur.execute(
            SQL("DELETE FROM {} WHERE environment = %s AND name = %s").format(self.table),
            (environment, name),
        )
        return cur.rowcount > 0

    def last_automatic(self, cur: Cursor[Any], environment: str) -> int:
        """Position of the environment's latest automatic checkpoint (0: none)."""
        cur.execute(
            SQL(
                "SELECT COALESCE(MAX(position), 0) FROM {} WHERE environment = %s AND name IS NULL"
            ).format(self.table),
            (environment,),
        )
        row = cur.fetchone()
        return int(row[0]) if row else 0

    def count_events(self, cur: Cursor[Any], environment: str, after: int, before: int) -> int:
        """How many events of the environment lie strictly between two positions."""
        cur.execute(
            SQL(
                "SELECT count(*) FROM {} WHERE environment = %s AND position > %s AND position < %s"
            ).format(self.index),
            (environment, after, before),
        )
        row = cur.fetchone()
        return int(row[0]) if row else 0

    def drop_automatic(self, cur: Cursor[Any]) -> None:
        """Delete the automatic checkpoints (named snapshots are user data and stay)."""
        cur.execute(SQL("DELETE FROM {} WHERE name IS NULL").format(self.table))


def advance_record(state: EnvState, record: LogRecord) -> None:
    """Apply one log record to an environment state (an entry whose value cannot be
    computed becomes broken; the others are unaffected)."""
    advance_checked(
        state,
        area=record.area,
        key=record.key,
        version=record.version,
        position=record.position,
        event=record.event,
    )


class CheckpointSink:
    """The ``checkpoints`` projection: a checkpoint every ``interval`` events of an
    environment, written in the batch's transaction."""

    name = "checkpoints"

    def __init__(self, *, checkpoints: Checkpoints, interval: int) -> None:
        self._checkpoints = checkpoints
        self.interval = interval

    def process(self, cur: Cursor[Any], records: Sequence[LogRecord]) -> None:
        by_env: dict[str, list[LogRecord]] = {}
        for record in records:
            by_env.setdefault(record.environment, []).append(record)
        for environment, batch in by_env.items():
            self._process_env(cur, environment, batch)

    def _process_env(self, cur: Cursor[Any], environment: str, batch: list[LogRecord]) -> None:
        store = self._checkpoints
        last = store.last_automatic(cur, environment)
        count = store.count_events(cur, environment, last, batch[0].position)
        if count + len(batch) < self.interval:
            return
        due = []
        for record in batch:
            count += 1
            if count >= self.interval:
                due.append(record.position)
                count = 0
        # Each state is read from the log (the checkpoint just written plus what follows),
        # so an event the batch could not decode still marks its entry broken.
        for position in due:
            state = store.state_at(cur, environment, position)
            store.save(cur, environment=environment, position=position, state=state)

    def checkpoint_changed(self, cur: Cursor[Any], position: int) -> int:
        """Checkpoint, at its last event up to ``position``, every environment changed
        since its last automatic checkpoint (the timed job); returns how many."""
        cur.execute(
            SQL(
                "SELECT i.environment, MAX(i.position) FROM {} i WHERE i.position <= %s"
                " GROUP BY i.environment HAVING MAX(i.position) > COALESCE((SELECT"
                " MAX(c.position) FROM {} c WHERE c.environment = i.environment"
                " AND c.name IS NULL), 0)"
            ).format(self._checkpoints.index, self._checkpoints.table),
            (position,),
        )
        changed = [(str(env), int(last)) for env, last in cur.fetchall()]
        for environment, last in changed:
            state = self._checkpoints.state_at(cur, environment, last)
            self._checkpoints.save(cur, environment=environment, position=last, state=state)
        return len(changed)

    def reset(self, cur: Cursor[Any]) -> None:
        self._checkpoints.drop_automatic(cur)
