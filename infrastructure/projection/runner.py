"""Batched, exactly-once projection runner.

Each batch is one transaction: lock the projection's position row, read the next events
after it, write the rows, move the position. Any process may run a batch (CLI reads
catch up inline; ``projections run`` follows LISTEN/NOTIFY); the row lock serialises
them, and a crash mid-batch rolls back rows and position together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Mapper
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.errors import NotFoundError
from infrastructure.errors import StorageError
from infrastructure.persistence.listener import Listener
from infrastructure.projection.log import log_query, log_row
from infrastructure.projection.sinks import Sink
from infrastructure.projection.tolerant import decode_rows

T = TypeVar("T")


@dataclass(frozen=True)
class ProjectionStatus:
    """Where a projection is, against the log head."""

    name: str
    position: int
    head: int
    lag: int


class ProjectionRunner:
    """Drives the sinks from the event log. Database errors propagate (eventsourcing's)."""

    def __init__(
        self,
        *,
        datastore: PostgresDatastore,
        mapper: Mapper[UUID],
        events_table: str,
        sinks: Sequence[Sink],
        batch_size: int = 1000,
        connect_timeout: int = 10,
    ) -> None:
        self._datastore = datastore
        self._connect_timeout = connect_timeout
        self._mapper = mapper
        self._sinks = {sink.name: sink for sink in sinks}
        self.batch_size = batch_size
        self.channel = events_table.replace(".", "_")
        # NOTIFY channels are at most 63 bytes; a shared prefix only costs a spurious wake.
        self.projected_channel = f"cc_projected_{datastore.schema}"[:63]
        schema = Identifier(datastore.schema)
        self._positions = SQL("{}.cc_projection_positions").format(schema)
        self._fetch = log_query(
            datastore.schema,
            events_table,
            "e.notification_id > %s ORDER BY e.notification_id LIMIT %s",
        )
        self._head = SQL("SELECT COALESCE(MAX(notification_id), 0) FROM {}.{}").format(
            schema, Identifier(events_table)
        )

    @property
    def names(self) -> list[str]:
        """Projection names."""
        return list(self._sinks)

    def sink(self, name: str) -> Sink:
        """A projection by name; raises :class:`NotFoundError`."""
        try:
            return self._sinks[name]
        except KeyError:
            known = ", ".join(self._sinks)
            raise NotFoundError(f"unknown projection {name!r} (known: {known})") from None

    def catch_up(
        self, names: Iterable[str] | None = None, *, stop: threading.Event | None = None
    ) -> int:
        """Process every event up to the current head (or until ``stop`` is set, between
        batches); returns how many were processed."""
        total = 0
        for name in names if names is not None else self.names:
            sink = self.sink(name)
            while not (stop and stop.is_set()) and (count := self._run_batch(sink)) > 0:
                total += count
        return total

    @contextmanager
    def _locked(self, name: str) -> Iterator[tuple[Cursor[tuple[Any, ...]], int]]:
        """A transaction holding the projection's position row; yields it and the position."""
        with (
            self._datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            cur.execute(
                SQL("SELECT position FROM {} WHERE name = %s FOR UPDATE").format(self._positions),
                (name,),
            )
            row = cur.fetchone()
            if row is None:
                raise StorageError(f"projection {name!r} is not migrated")
            yield cur, int(row[0])

    def _run_batch(self, sink: Sink) -> int:
        with self._locked(sink.name) as (cur, position):
            with cur.connection.cursor(row_factory=log_row) as log_cur:
                rows = log_cur.execute(self._fetch, (position, self.batch_size)).fetchall()
            if not rows:
                return 0
            # A row that does not decode is logged and skipped: it must not stop the
            # projection (whole-environment reads and `verify` name its entry).
            records = decode_rows(self._mapper, rows)
            if records:
                sink.process(cur, records)
            cur.execute(
                SQL("UPDATE {} SET position = %s, updated_at = now() WHERE name = %s").format(
                    self._positions
                ),
                (rows[-1].position, sink.name),
            )
            # Delivered at commit: wakes every instance's change streams (see watch()).
            cur.execute("SELECT pg_notify(%s, %s)", (self.projected_channel, sink.name))
            return len(rows)

    def run_locked(self, name: str, action: Callable[[Cursor[Any], int], T]) -> T:
        """Run ``action(cursor, position)`` in a transaction holding projection ``name``'s
        position row, so that it sees and writes that projection's tables alone."""
        with self._locked(self.sink(name).name) as (cur, position):
            return action(cur, position)

    def head(self) -> int:
        """The log's last position."""
        with self._datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(self._head)
            row = cur.fetchone()
            return int(row[0]) if row else 0

    def status(self) -> list[ProjectionStatus]:
        """Position, head and lag of every projection."""
        head = self.head()
        with self._datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(SQL("SELECT name, position FROM {} ORDER BY name").format(self._positions))
            found = {str(name): int(pos) for name, pos in cur.fetchall()}
        return [
            ProjectionStatus(name, found.get(name, 0), head, max(0, head - found.get(name, 0)))
            for name in self.names
        ]

    def rebuild(self, name: str) -> int:
        """Empty one projection and replay the whole log into it; returns events replayed."""
        sink = self.sink(name)
        with self._locked(name) as (cur, _):
            sink.reset(cur)
            cur.execute(
                SQL("UPDATE {} SET position = 0, updated_at = now() WHERE name = %s").format(
                    self._positions
                ),
                (name,),
            )
        return self.catch_up([name])

    def wait_for(self, position: int, *, names: Iterable[str], timeout: float) -> None:
        """Catch up until every named projection has reached ``position``.

        Raises :class:`StorageError` after ``timeout`` seconds (the position is not in the
        log yet, e.g. it came from a write this database has not seen).
        """
        wanted = list(names)
        deadline = time.monotonic() + timeout
        while True:
            self.catch_up(wanted)
            positions = {s.name: s.position for s in self.status()}
            if all(positions[n] >= position for n in wanted):
                return
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"projections {', '.join(wanted)} did not reach position {position} "
                    f"within {timeout:g}s"
                )
            time.sleep(0.05)

    def watch(self, url: str, stop: threading.Event, on_move: Callable[[], None]) -> None:
        """Call ``on_move`` whenever any process has moved a projection, until ``stop``
        is set (and once on connecting, for moves made while not listening). Raises
        what the connection raises (its caller restarts it)."""
        self._listener(url, self.projected_channel, poll_seconds=None).listen(stop, on_move)

    def run(
        self, url: str, stop: threading.Event, *, on_batch: Callable[[int], None] | None = None
    ) -> None:
        """Follow the log until ``stop`` is set: catch up, then wait for NOTIFY (or 1 s);
        returns within a batch and a fifth of a second of ``stop``. Raises what the
        connection and the batches raise (its caller restarts it)."""

        def caught_up() -> None:
            processed = self.catch_up(stop=stop)
            if processed and on_batch is not None:
                on_batch(processed)

        self._listener(url, self.channel, poll_seconds=1.0).listen(stop, caught_up)

    def _listener(self, url: str, channel: str, *, poll_seconds: float | None) -> Listener:
        return Listener(
            url=url,
            channel=channel,
            connect_timeout=self._connect_timeout,
            wake_seconds=0.2,
            poll_seconds=poll_seconds,
        )
