"""The Redis mirror: each entry's current value as a Redis key, each change published,
for consumers that are not Python (Conduit is .NET); see docs/REDIS.md.

Each batch of log events is one MULTI/EXEC writing the keys, the publishes, the
mirror's per-entry state and its position, so a mirror killed at any point neither
loses nor repeats a change. The position is WATCHed: two mirrors on one prefix (an old
and a new leader, a rebuild beside a running mirror) never both apply a batch.
Entries of the system environment (API tokens) are not mirrored: Redis readers are not
authorised to see them.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import psycopg
import redis
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier
from redis.client import Pipeline
from redis.exceptions import WatchError

from domain.address import SYSTEM_ENVIRONMENT
from domain.errors import SettingsError, StorageError
from infrastructure.client.follower import MAX_BACKOFF_SECONDS, backoff_seconds
from infrastructure.cluster.redis_connection import (
    CONNECT_TIMEOUT,
    first_line,
    redis_client,
    redis_errors,
)
from infrastructure.persistence.errors import storage_errors
from infrastructure.projection.log import decode, log_query
from infrastructure.projection.runner import ProjectionStatus
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from projections.current import CurrentRow, next_current
from projections.mirror import change_message, changes_channel, entry_document, entry_key
from projections.records import LogRecord

log = logging.getLogger("conduit_config.redis")
NAME = "redis"
POLL_SECONDS = 1.0
WAKE_SECONDS = 0.1
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_DELETE_CHUNK = 1000


class MirrorAheadError(StorageError):
    """The mirror's position in Redis is beyond the log's head: that Redis holds the
    mirror of another database. Nothing is written; ``mirror rebuild`` starts over."""


def row_json(row: CurrentRow) -> bytes:
    """The mirror's state of one entry (everything the next event needs)."""
    return orjson.dumps(row)  # orjson writes dataclasses, UUIDs and datetimes itself


def row_from_json(raw: bytes | str) -> CurrentRow:
    """Inverse of :func:`row_json`; raises ``orjson.JSONDecodeError``, ``KeyError`` or
    ``TypeError`` for something :func:`row_json` did not write."""
    data = orjson.loads(raw)
    data["entry_id"] = UUID(data["entry_id"])
    data["updated_at"] = datetime.fromisoformat(data["updated_at"])
    return CurrentRow(**data)


def _as_position(raw: Any) -> int:
    if raw is None:
        return 0  # never written, or Redis was flushed: rebuild from the start
    try:
        return int(raw)
    except ValueError:
        raise StorageError(f"the Redis mirror's position is not a number: {raw!r}") from None


class RedisMirror:
    """Mirrors the log into Redis under ``prefix``.

    Keys: ``{prefix}:{env}:{area}:{key}`` (JSON of the current value; ``:`` inside a
    name is written ``%3A``), ``{prefix}:_rows`` (the mirror's per-entry state) and
    ``{prefix}:_position``. Channel ``{prefix}:{env}:changes`` carries each change.
    Every method raises :class:`StorageError` when Redis or PostgreSQL fails, and
    :class:`SettingsError` for a malformed prefix.
    """

    def __init__(
        self, *, store: ConfigStore, client: redis.Redis, prefix: str, batch_size: int = 1000
    ) -> None:
        if not _PREFIX.fullmatch(prefix):
            raise SettingsError(f"invalid Redis prefix {prefix!r}: use 1-100 of A-Za-z0-9_.-")
        self._store = store
        self._client = client
        self.prefix = prefix
        self.batch_size = batch_size
        self._position_key = f"{prefix}:_position"
        self._rows_key = f"{prefix}:_rows"
        self._failures = 0
        self._fetch = log_query(
            store.app.datastore.schema,
            store.app.events_table,
            "e.notification_id > %s ORDER BY e.notification_id LIMIT %s",
        )

    def position(self) -> int:
        """The last log position mirrored (0: nothing yet, or Redis was flushed)."""
        with redis_errors():
            return _as_position(self._client.get(self._position_key))

    def head(self) -> int:
        """The log's last position."""
        with storage_errors():
            return self._store.projections.head()

    def status(self) -> ProjectionStatus:
        """Position, log head and lag of the mirror."""
        position, head = self.position(), self.head()
        return ProjectionStatus(NAME, position, head, max(0, head - position))

    def catch_up(self) -> int:
        """Mirror every event up to the log head; returns how many were processed.

        Raises :class:`MirrorAheadError` (after logging it) when the mirror's position is
        beyond the head, :class:`StorageError` when Redis or PostgreSQL fails.
        """
        return self._catch_up(None)

    def rebuild(self) -> int:
        """Delete every key of the prefix (state and position too), then mirror the whole
        log again; returns the events processed."""
        with redis_errors():
            keys = list(self._client.scan_iter(match=f"{self.prefix}:*", count=1000))
            # One MULTI: a mirror running beside us sees the position vanish together
            # with the state, and its next batch (WATCH fails) starts from 0 too.
            with self._client.pipeline(transaction=True) as pipe:
                for start in range(0, len(keys), _DELETE_CHUNK):
                    pipe.delete(*keys[start : start + _DELETE_CHUNK])
                pipe.delete(self._position_key, self._rows_key)
                pipe.execute()
        log.info("redis mirror %s: deleted %d keys; rebuilding", self.prefix, len(keys))
        return self.catch_up()

    def run(self, stop: threading.Event) -> None:
        """Follow the log (LISTEN/NOTIFY, and a poll every second) until ``stop`` is set;
        returns within about a tenth of a second of it. Outages of Redis or PostgreSQL
        are logged as warnings and retried with backoff from the position in Redis;
        a position beyond the log head is logged as an error and retried slowly (a
        ``mirror rebuild`` resolves it). Raises nothing."""
        while not stop.is_set():
            try:
                self._follow(stop)
            except MirrorAheadError:
                stop.wait(MAX_BACKOFF_SECONDS)  # already logged; an operator must act
            except Exception as exc:  # the leader's thread must not die: retry anything
                self._failures += 1
                delay = backoff_seconds(self._failures)
                if isinstance(exc, psycopg.Error | OSError | StorageError | redis.RedisError):
                    log.warning("redis mirror: %s; retrying in %.1fs", first_line(exc), delay)
                else:  # a bug: keep the traceback
                    log.exception("redis mirror failed; retrying in %.1fs", delay)
                self._discard_broken()
                stop.wait(delay)

    def close(self) -> None:
        """Close the Redis connections."""
        self._client.close()

    def _follow(self, stop: threading.Event) -> None:
        with (
            storage_errors(),  # warnings then say "database unavailable: …"
            psycopg.connect(
                self._store.database_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            ) as listener,
        ):
            listener.execute(SQL("LISTEN {}").format(Identifier(self._store.projections.channel)))
            self._catch_up(stop)  # after LISTEN: nothing committed since can be missed
            if self._failures:
                log.info("redis mirror: resumed at position %d", self.position())
                self._failures = 0
            polled = time.monotonic()
            while not stop.is_set():
                # Short waits keep run() prompt to stop; a poll covers a lost NOTIFY.
                woken = any(True for _ in listener.notifies(timeout=WAKE_SECONDS, stop_after=1))
                if woken or time.monotonic() - polled >= POLL_SECONDS:
                    self._catch_up(stop)
                    polled = time.monotonic()

    def _discard_broken(self) -> None:
        # A connection the server terminated fails only when used: drop them all now.
        try:
            self._store.app.datastore.pool.check()
        except Exception:  # best effort: the next attempt reports what fails
            log.debug("checking the pool's connections failed", exc_info=True)

    def _catch_up(self, stop: threading.Event | None) -> int:
        total = 0
        while stop is None or not stop.is_set():
            position = self.position()
            rows = self._read(position)
            if not rows:
                self._check_head(position)
                return total
            with redis_errors():
                if self._apply(position, rows):
                    total += len(rows)
        return total

    def _read(self, position: int) -> list[tuple[Any, ...]]:
        with (
            storage_errors(),
            self._store.app.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            cur.execute(self._fetch, (position, self.batch_size))
            return cur.fetchall()

    def _check_head(self, position: int) -> None:
        if position == 0:
            return
        head = self.head()
        if position > head:
            message = (
                f"the Redis mirror {self.prefix!r} is at position {position}, beyond the"
                f" log's head ({head}): that Redis mirrors another database; run"
                " `conduit-config mirror rebuild` to start over"
            )
            log.error(message)
            raise MirrorAheadError(message)

    def _apply(self, position: int, rows: list[tuple[Any, ...]]) -> bool:
        """One MULTI/EXEC for the batch; ``False`` when another mirror moved first."""
        mapper = self._store.app.mapper
        records = [decode(mapper, row) for row in rows if row[6] not in (None, SYSTEM_ENVIRONMENT)]
        with self._client.pipeline(transaction=True) as pipe:
            try:
                # redis-py leaves Pipeline.watch unannotated.
                pipe.watch(self._position_key)  # type: ignore[no-untyped-call]
                if _as_position(pipe.get(self._position_key)) != position:
                    return False
                state = self._load(pipe, records)
                pipe.multi()
                self._queue(pipe, records, state)
                pipe.set(self._position_key, int(rows[-1][0]))
                pipe.execute()
            except WatchError:
                return False
        return True

    def _load(self, pipe: Pipeline, records: list[LogRecord]) -> dict[UUID, CurrentRow]:
        ids = list(dict.fromkeys(r.entry_id for r in records))
        if not ids:
            return {}
        found = pipe.hmget(self._rows_key, [str(i) for i in ids])
        return {i: row_from_json(raw) for i, raw in zip(ids, found, strict=True) if raw is not None}

    def _queue(
        self, pipe: Pipeline, records: list[LogRecord], state: dict[UUID, CurrentRow]
    ) -> None:
        """Queue the batch's writes: final key per entry, its state, every change."""
        dirty: dict[UUID, CurrentRow] = {}
        messages: list[tuple[str, bytes]] = []
        for record in records:
            row = next_current(state.get(record.entry_id), record, self._store.complete)
            state[record.entry_id] = dirty[record.entry_id] = row
            messages.append(
                (
                    changes_channel(self.prefix, row.environment),
                    orjson.dumps(change_message(record, row)),
                )
            )
        for row in dirty.values():
            key = entry_key(self.prefix, row.environment, row.area, row.key)
            if row.deleted:
                pipe.delete(key)
            else:
                pipe.set(key, orjson.dumps(entry_document(row)))
        if dirty:
            pipe.hset(self._rows_key, mapping={str(k): row_json(r) for k, r in dirty.items()})
        for channel, message in messages:
            pipe.publish(channel, message)


def open_mirror(settings: Settings, store: ConfigStore) -> RedisMirror | None:
    """The mirror configured by ``CONDUIT_CONFIG_REDIS_URL`` and ``…_REDIS_PREFIX``, or
    ``None`` when no URL is set. Connects lazily: an unreachable Redis shows on first use
    (as :class:`StorageError`). Raises :class:`SettingsError` for a malformed URL."""
    if settings.redis_url is None:
        return None
    client = redis_client(settings.redis_url, timeout=settings.connect_timeout)
    return RedisMirror(
        store=store,
        client=client,
        prefix=settings.redis_prefix,
        batch_size=settings.projection_batch_size,
    )
