"""A running mirror survives outages of Redis and of PostgreSQL (warns, backs off,
resumes from its position in Redis), and two mirrors on one prefix apply each batch
once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import redis
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domain.address import Address
from domain.entry import Provenance
from infrastructure.cluster.redis_connection import redis_client
from infrastructure.cluster.redis_mirror import RedisMirror
from infrastructure.store import ConfigStore
from tests.conftest import StoreOpener
from tests.infrastructure.cluster.redis_support import (
    Subscriber,
    assert_mirror_equals_current,
)
from tests.network import Gate, eventually

WHO = Provenance(actor="alice", correlation_id="o-1")


def _write(store: ConfigStore, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        flag = Address("default", "feature_flag", f"f{i % 5}")
        store.set(flag, {"rollout_percent": i % 101}, provenance=WHO)


class _Collect(logging.Handler):
    """Keeps the messages of warnings (and worse)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())


@contextmanager
def _running(mirror: RedisMirror) -> Iterator[list[str]]:
    """The mirror's ``run`` in a thread; yields the warnings it logs; stops it after."""
    stop = threading.Event()
    thread = threading.Thread(target=mirror.run, args=(stop,))
    handler = _Collect()
    logger = logging.getLogger("conduit_config.redis")
    logger.addHandler(handler)
    thread.start()
    try:
        yield handler.warnings
    finally:
        stop.set()
        thread.join(timeout=15)
        logger.removeHandler(handler)
    assert not thread.is_alive()


def _outage(store: ConfigStore, proxy: Gate, position: Callable[[], int]) -> None:
    """10 changes mirrored; the link cut; 10 more written and not mirrored; restored:
    all 20 mirrored."""
    _write(store, 10)
    eventually(lambda: position() == 10, what="caught up before the outage")
    proxy.cut()
    _write(store, 10, start=10)
    time.sleep(1.0)
    assert position() == 10
    proxy.open()
    eventually(lambda: position() == 20, what="resumed after the outage")


def test_run_survives_a_redis_outage(
    store: ConfigStore,
    redis_url: str,
    redis_conn: redis.Redis,
    redis_prefix: str,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    params = redis_conn.connection_pool.connection_kwargs
    proxy = Gate(str(params.get("host", "127.0.0.1")), int(params.get("port", 6379)), opened=True)
    through = redis_client(f"redis://127.0.0.1:{proxy.port}/{params.get('db', 0)}", timeout=2)
    mirror = RedisMirror(store=store, client=through, prefix=redis_prefix, batch_size=3)
    subscriber = Subscriber(redis_url, redis_prefix)
    try:
        with _running(mirror) as warnings:
            _outage(store, proxy, lambda: int(redis_conn.get(f"{redis_prefix}:_position") or 0))
        eventually(lambda: len(subscriber.messages) >= 20)
        time.sleep(0.2)  # a duplicate would arrive now
    finally:
        subscriber.close()
        proxy.close()
    assert warnings and all(w.startswith("redis mirror: Redis unavailable: ") for w in warnings)
    assert subscriber.positions() == list(range(1, 21))  # exactly once, in order
    store.projections.catch_up()
    assert assert_mirror_equals_current(redis_conn, redis_prefix, db, schema) == 5


def test_run_survives_a_postgresql_outage(
    store: ConfigStore,
    open_test_store: StoreOpener,
    database_url: str,
    redis_conn: redis.Redis,
    redis_prefix: str,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    params = {k: str(v) for k, v in conninfo_to_dict(database_url).items()}
    proxy = Gate(params.get("host") or "127.0.0.1", int(params.get("port") or 5432), opened=True)
    params.update(host="127.0.0.1", port=str(proxy.port))
    try:
        with open_test_store(database_url=make_conninfo(**params), connect_timeout=2) as far:
            mirror = RedisMirror(store=far, client=redis_conn, prefix=redis_prefix)
            with _running(mirror) as warnings:
                _outage(store, proxy, mirror.position)
    finally:
        proxy.close()
    assert warnings
    assert all(w.startswith("redis mirror: database unavailable: ") for w in warnings)
    store.projections.catch_up()
    assert assert_mirror_equals_current(redis_conn, redis_prefix, db, schema) == 5


def _catch_up_together(mirrors: list[RedisMirror]) -> list[int]:
    """``catch_up`` of every mirror at once, in threads; what each processed."""
    counts: list[int] = []
    threads = [threading.Thread(target=lambda m=m: counts.append(m.catch_up())) for m in mirrors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return counts


def test_two_mirrors_on_one_prefix_apply_each_batch_once(
    store: ConfigStore,
    redis_url: str,
    redis_conn: redis.Redis,
    redis_prefix: str,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    _write(store, 400)
    mirrors = [
        RedisMirror(store=store, client=redis_client(redis_url), prefix=redis_prefix, batch_size=5)
        for _ in range(3)
    ]
    subscriber = Subscriber(redis_url, redis_prefix)
    try:
        counts = _catch_up_together(mirrors)
        eventually(lambda: len(subscriber.messages) >= 400)
        time.sleep(0.2)  # a duplicate would arrive now
    finally:
        subscriber.close()
        for mirror in mirrors:
            mirror.close()
    assert len(counts) == 3  # all three finished
    assert sum(counts) == 400
    assert subscriber.positions() == list(range(1, 401))
    store.projections.catch_up()
    assert assert_mirror_equals_current(redis_conn, redis_prefix, db, schema) == 5
