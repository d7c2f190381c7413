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

import dataclasses
import json
import logging
import re
import threading
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import psycopg
import redis
from redis.client import Pipeline
from redis.exceptions import WatchError

from domain.address import SYSTEM_ENVIRONMENT
from domain.errors import SettingsError
from infrastructure.cluster.redis_connection import redis_client, redis_errors
from infrastructure.cluster.redis_keys import changes_channel, entry_key
from infrastructure.errors import StorageError
from infrastructure.persistence.errors import first_line, storage_errors
from infrastructure.persistence.listener import StalledError
from infrastructure.projection.runner import ProjectionStatus
from infrastructure.settings import DEFAULTS, Settings
from infrastructure.store import ConfigStore
from infrastructure.store.follower import LogFollower
from projections.current import CurrentRow, next_current
from projections.mirror import change_message, entry_document
from projections.records import LogRecord

log = logging.getLogger("conduit_config.redis")
NAME = "redis"
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_DELETE_CHUNK = 1000


class MirrorAheadError(StalledError):
    """The mirror's position in Redis is beyond the log's head: that Redis holds the
    mirror of another database. Nothing is written; ``mirror rebuild`` starts over."""


def dumps(document: Any) -> bytes:
    """JSON of a document, row or message. A value an older release stored may nest
    deeper than orjson's 254 levels: the standard library's encoder writes it instead of
    stalling the mirror on it (the value is served as stored, like ``cc_current``)."""
    try:
        return orjson.dumps(document)  # orjson writes dataclasses, UUIDs and datetimes
    except orjson.JSONEncodeError:
        if dataclasses.is_dataclass(document) and not isinstance(document, type):
            document = dataclasses.asdict(document)
        return json.dumps(document, default=_plain).encode()


def _plain(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # a UUID


def loads(raw: bytes | str) -> Any:
    """Inverse of :func:`dumps`; raises ``ValueError`` for text that is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def row_json(row: CurrentRow) -> bytes:
    """The mirror's state of one entry (everything the next event needs)."""
    return dumps(row)


def row_from_json(raw: bytes | str) -> CurrentRow:
    """Inverse of :func:`row_json`; raises ``ValueError``, ``KeyError`` or ``TypeError``
    for something :func:`row_json` did not write."""
    data = loads(raw)
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
        self,
        *,
        store: ConfigStore,
        client: redis.Redis,
        prefix: str,
        batch_size: int = DEFAULTS.projection_batch_size,
        connect_timeout: int = DEFAULTS.connect_timeout,
    ) -> None:
        if not _PREFIX.fullmatch(prefix):
            raise SettingsError(f"invalid Redis prefix {prefix!r}: use 1-100 of A-Za-z0-9_.-")
        self._store = store
        self._client = client
        self.prefix = prefix
        self.batch_size = batch_size
        #: Seconds its log follower waits for a database connection.
        self.connect_timeout = connect_timeout
        self._position_key = f"{prefix}:_position"
        self._rows_key = f"{prefix}:_rows"
        self._failing = False

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
        return self._follower().catch_up()

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
        self._follower().follow(stop)

    def close(self) -> None:
        """Close the Redis connections."""
        self._client.close()

    def _follower(self) -> LogFollower:
        """A follower of the log from the position in Redis. A batch is applied only if
        that position has not moved since the batch was read after it (WATCHed)."""
        read_after = 0

        def position() -> int:
            nonlocal read_after
            read_after = self.position()
            return read_after

        def apply(records: list[LogRecord], last: int) -> bool:
            with redis_errors():
                return self._apply(read_after, records, last)

        return LogFollower(
            store=self._store,
            position=position,
            apply=apply,
            on_error=self._connection,
            connect_timeout=self.connect_timeout,
            batch_size=self.batch_size,
            at_head=self._check_head,
            guard=storage_errors,  # warnings then say "database unavailable: …"
            report=_report,
        )

    def _connection(self, error: BaseException | None) -> None:
        """Logs when the mirror follows the log again after failures."""
        if error is not None:
            self._failing = True
        elif self._failing:
            self._failing = False
            log.info("redis mirror: resumed at position %d", self.position())

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

    def _apply(self, position: int, records: list[LogRecord], last: int) -> bool:
        """One MULTI/EXEC for the batch read after ``position`` up to ``last``;
        ``False`` when another mirror moved first."""
        records = [r for r in records if r.environment != SYSTEM_ENVIRONMENT]
        with self._client.pipeline(transaction=True) as pipe:
            try:
                # redis-py leaves Pipeline.watch unannotated.
                pipe.watch(self._position_key)  # type: ignore[no-untyped-call]
                if _as_position(pipe.get(self._position_key)) != position:
                    return False
                state = self._load(pipe, records)
                pipe.multi()
                self._queue(pipe, records, state)
                pipe.set(self._position_key, last)
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
                    dumps(change_message(record, row)),
                )
            )
        for row in dirty.values():
            key = entry_key(self.prefix, row.environment, row.area, row.key)
            if row.deleted:
                pipe.delete(key)
            else:
                pipe.set(key, dumps(entry_document(row)))
        if dirty:
            pipe.hset(self._rows_key, mapping={str(k): row_json(r) for k, r in dirty.items()})
        for channel, message in messages:
            pipe.publish(channel, message)


def _report(exc: BaseException, delay: float) -> None:
    """How the mirror's follower logs a failure (``delay``: before it retries)."""
    if isinstance(exc, psycopg.Error | OSError | StorageError | redis.RedisError):
        log.warning("redis mirror: %s; retrying in %.1fs", first_line(exc), delay)
    else:  # a bug: keep the traceback
        log.exception("redis mirror failed; retrying in %.1fs", delay)


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
        connect_timeout=settings.connect_timeout,
    )
