"""Redis for the mirror tests (a real server, never a mock), and what they compare.

``REDIS_URL`` if set, else a Redis on 127.0.0.1:6379 if one answers, else a private
``redis-server`` on a free port; without any, the tests are skipped. Every test gets
its own key prefix, deleted afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import psycopg
import pytest
import redis
from psycopg.sql import SQL, Identifier

from domain.address import SYSTEM_ENVIRONMENT
from infrastructure.cluster.redis_connection import redis_client
from infrastructure.cluster.redis_keys import entry_key
from infrastructure.cluster.redis_mirror import RedisMirror, loads, row_from_json
from infrastructure.store import ConfigStore
from tests.infrastructure.http.server_support import free_port


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a Redis server for this test run."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    if _answers("redis://127.0.0.1:6379/0"):
        yield "redis://127.0.0.1:6379/0"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis: set REDIS_URL, run one on 127.0.0.1:6379 or install redis-server")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _answers(url):
            if time.monotonic() > deadline:
                pytest.fail("redis-server did not start within 10s")
            time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the test Redis (bytes in, bytes out)."""
    client = redis_client(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_conn: redis.Redis) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"cc-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in list(redis_conn.scan_iter(match=f"{prefix}:*", count=1000)):
        redis_conn.delete(key)


@pytest.fixture
def mirror(store: ConfigStore, redis_conn: redis.Redis, redis_prefix: str) -> RedisMirror:
    """A mirror of the test store under the test prefix (small batches: many of them)."""
    return RedisMirror(store=store, client=redis_conn, prefix=redis_prefix, batch_size=97)


def mirror_keys(client: redis.Redis, prefix: str) -> dict[str, dict[str, Any]]:
    """Every entry key of the prefix and its JSON (``updated_at`` parsed)."""
    found = {}
    for raw in client.scan_iter(match=f"{prefix}:*", count=1000):
        name = raw.decode()
        if name in (f"{prefix}:_rows", f"{prefix}:_position"):
            continue
        data = loads(client.get(name) or b"null")
        data["updated_at"] = datetime.fromisoformat(data["updated_at"])
        found[name] = data
    return found


def current_rows(db: psycopg.Connection[Any], schema: str) -> list[tuple[Any, ...]]:
    """``cc_current`` outside the system environment: (entry_id, environment, area, key,
    value, stored, version, position, updated_at, updated_by, deleted)."""
    query = SQL(
        "SELECT entry_id, environment, area, key, value, stored, version, position,"
        " updated_at, updated_by, deleted FROM {}.cc_current WHERE environment <> %s"
    ).format(Identifier(schema))
    return db.execute(query, (SYSTEM_ENVIRONMENT,)).fetchall()


def expected_keys(rows: list[tuple[Any, ...]], prefix: str) -> dict[str, dict[str, Any]]:
    """What the mirror's keys must hold for these ``cc_current`` rows."""
    return {
        entry_key(prefix, env, area, key): {
            "environment": env,
            "area": area,
            "key": key,
            "value": value,
            "version": version,
            "position": position,
            "updated_at": updated_at,
            "updated_by": updated_by,
        }
        for _, env, area, key, value, _, version, position, updated_at, updated_by, deleted in rows
        if not deleted
    }


def assert_mirror_equals_current(
    client: redis.Redis, prefix: str, db: psycopg.Connection[Any], schema: str
) -> int:
    """The keys and the mirror's state equal ``cc_current``; returns the live entries."""
    rows = current_rows(db, schema)
    expected = expected_keys(rows, prefix)
    assert mirror_keys(client, prefix) == expected
    state = client.hgetall(f"{prefix}:_rows")
    assert {k.decode() for k in state} == {str(row[0]) for row in rows}
    for entry_id, *_, stored, version, _, _, _, deleted in rows:
        row = row_from_json(state[str(entry_id).encode()])
        assert (row.stored, row.version, row.deleted) == (stored, version, deleted)
    return len(expected)


def redis_texts(client: redis.Redis, prefix: str) -> str:
    """Every string and hash value under the prefix, for leak checks."""
    chunks = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        if client.type(key) == b"hash":
            chunks += [v.decode() for v in client.hgetall(key).values()]
        else:
            chunks.append((client.get(key) or b"").decode())
    return "\n".join(chunks)


def logged_positions(db: psycopg.Connection[Any], schema: str) -> list[int]:
    """Positions of every mirrored event (the audit trail outside the system env)."""
    query = SQL("SELECT position FROM {}.cc_audit WHERE environment <> %s ORDER BY 1").format(
        Identifier(schema)
    )
    return [row[0] for row in db.execute(query, (SYSTEM_ENVIRONMENT,))]


class Subscriber:
    """Subscribed to every change channel of a prefix (from construction until
    :meth:`close`), collecting the decoded messages in arrival order."""

    def __init__(self, url: str, prefix: str) -> None:
        self._client = redis.Redis.from_url(url)
        self._pubsub = self._client.pubsub()
        self._pubsub.psubscribe(f"{prefix}:*:changes")
        confirmed = self._pubsub.get_message(timeout=5)  # subscribed before any write
        assert confirmed is not None and confirmed["type"] == "psubscribe"
        self.messages: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.1)
            if message is not None and message["type"] == "pmessage":
                self.messages.append(orjson.loads(message["data"]))

    def positions(self) -> list[int]:
        """Positions received so far, in arrival order."""
        return [m["position"] for m in list(self.messages)]

    def close(self) -> None:
        """Unsubscribe."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()
        self._client.close()
