"""A mirror process killed with SIGKILL mid-stream, while a writer keeps appending, loses
nothing and repeats nothing: neither in the keys nor on the channel.

Why exactly-once holds even for pub/sub: a batch's PUBLISHes are queued in the same
MULTI as its key writes and its position, and Redis runs an EXEC it has received as a
whole, after which the position says the batch is done. A client killed before its EXEC
reached Redis leaves nothing behind (Redis discards a disconnected client's queue); one
killed after leaves everything done. The next mirror starts from that position.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import redis

from domain.address import Address
from domain.entry import Provenance
from domain.errors import ConfigStoreError
from infrastructure.store import ConfigStore
from tests.cli.conftest import clean_env
from tests.conftest import TEST_SECRET_KEY
from tests.infrastructure.cluster.redis_support import (
    Subscriber,
    assert_mirror_equals_current,
    logged_positions,
)
from tests.network import eventually

ROOT = Path(__file__).resolve().parents[3]
WHO = Provenance(actor="writer", correlation_id="kill")


class Writer:
    """Appends changes (sets, patches, deletes, restores) until stopped."""

    def __init__(self, store: ConfigStore) -> None:
        self._store = store
        self._stop = threading.Event()
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        i = 0
        try:
            while not self._stop.is_set():
                i += 1
                flag = Address("prod", "feature_flag", f"f{i % 50}")
                try:
                    match i % 7:
                        case 3:
                            self._store.delete(flag, provenance=WHO)
                        case 4:
                            self._store.undelete(flag, provenance=WHO)
                        case 5:
                            self._store.patch(flag, {"enabled": i % 2 == 0}, provenance=WHO)
                        case _:
                            self._store.set(flag, {"rollout_percent": i % 101}, provenance=WHO)
                except ConfigStoreError:
                    continue
        except BaseException as exc:  # reported by stop()
            self.errors.append(exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self.errors


class MirrorProcesses:
    """Mirror processes (``mirror_worker``) of one test's prefix; any still running at
    :meth:`close` are killed."""

    def __init__(self, env: dict[str, str], client: redis.Redis, prefix: str) -> None:
        self._env = env
        self._client = client
        self._prefix = prefix
        self._started: list[subprocess.Popen[bytes]] = []

    def position(self) -> int:
        """The mirror's position in Redis."""
        return int(self._client.get(f"{self._prefix}:_position") or 0)

    def start(self) -> subprocess.Popen[bytes]:
        """A new mirror process."""
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.infrastructure.cluster.mirror_worker"],
            cwd=ROOT,
            env=self._env,
            stderr=subprocess.DEVNULL,
        )
        self._started.append(process)
        return process

    def kill_at(self, target: int) -> int:
        """Start a mirror, SIGKILL it once it has passed ``target``; its last position."""
        process = self.start()
        eventually(lambda: self.position() >= target, timeout=60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
        return self.position()

    def close(self) -> None:
        for process in self._started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=20)


def _backlog(store: ConfigStore, count: int) -> None:
    for i in range(count):
        flag = Address("default", "feature_flag", f"b{i % 40}")
        store.set(flag, {"rollout_percent": i % 101}, provenance=WHO)


def test_kill_9_mid_stream_then_resume_exactly_once(
    store: ConfigStore,
    database_url: str,
    schema: str,
    redis_url: str,
    redis_conn: redis.Redis,
    redis_prefix: str,
    db: psycopg.Connection[Any],
) -> None:
    env = clean_env(
        CONDUIT_CONFIG_DATABASE_URL=database_url,
        CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
        CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
        CONDUIT_CONFIG_REDIS_URL=redis_url,
        CONDUIT_CONFIG_REDIS_PREFIX=redis_prefix,
        CONDUIT_CONFIG_PROJECTION_BATCH_SIZE="7",  # many small transactions to land in
    )
    _run_kills(store, env, redis_url, redis_conn, redis_prefix)
    assert_mirror_equals_current(redis_conn, redis_prefix, db, schema)
    assert logged_positions(db, schema) == list(range(1, store.projections.head() + 1))


def _run_kills(
    store: ConfigStore, env: dict[str, str], redis_url: str, client: redis.Redis, prefix: str
) -> None:
    """Two mirrors killed mid-stream, a third run to the head under a writer; every
    position received exactly once by a subscriber subscribed throughout."""
    subscriber = Subscriber(redis_url, prefix)  # subscribed throughout
    _backlog(store, 1200)  # each kill lands while the mirror is behind
    writer, mirrors = Writer(store), MirrorProcesses(env, client, prefix)
    try:
        killed_at = [(mirrors.kill_at(t), store.projections.head()) for t in (300, 900)]
        last = mirrors.start()
        # The writer still writes while the new mirror catches up.
        eventually(lambda: store.projections.head() > killed_at[-1][1] + 300, timeout=60)
        writer.stop()
        head = store.projections.head()
        eventually(lambda: mirrors.position() == head, timeout=60)
        last.send_signal(signal.SIGTERM)
        assert last.wait(timeout=20) == 0
        eventually(lambda: len(subscriber.messages) >= head, what="every message")
        time.sleep(0.2)  # a duplicate would arrive now
    finally:
        mirrors.close()
        writer.stop()
        subscriber.close()
    for position, head_then in killed_at:
        assert 0 < position < head_then, "each kill should land mid-stream"
    assert subscriber.positions() == list(range(1, head + 1))
    store.projections.catch_up()
