"""The Redis mirror's behaviour: key layout and JSON shapes, status and lag, rebuild, a
flushed Redis, a Redis of another database, an unreachable Redis, a prompt stop, and
its settings."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
import pytest
import redis

from domain.address import Address
from domain.entry import Provenance
from domain.errors import SettingsError
from infrastructure.cluster.redis_mirror import (
    MirrorAheadError,
    RedisMirror,
    open_mirror,
    redis_client,
)
from infrastructure.errors import StorageError
from infrastructure.projection.runner import ProjectionStatus
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from tests.infrastructure.cluster.redis_support import (
    Subscriber,
    assert_mirror_equals_current,
    mirror_keys,
)
from tests.infrastructure.http.server_support import free_port
from tests.network import eventually
from tests.stored_support import nested, write_unchecked

WHO = Provenance(actor="alice", correlation_id="u-1")


def flag(key: str, env: str = "default") -> Address:
    return Address(env, "feature_flag", key)


def _write(store: ConfigStore, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        store.set(flag(f"f{i % 5}"), {"rollout_percent": i % 101}, provenance=WHO)


def _change(position: int, version: int, event: str, value: Any) -> dict[str, Any]:
    """A message of the entry ``eu:west`` ``feature_flag/a:b``."""
    return {
        "position": position,
        "environment": "eu:west",
        "area": "feature_flag",
        "key": "a:b",
        "version": version,
        "event": event,
        "deleted": value is None,
        "value": value,
    }


DOCUMENT_FIELDS = {
    "environment",
    "area",
    "key",
    "value",
    "version",
    "position",
    "updated_at",
    "updated_by",
}


def test_key_layout_and_json_shapes(
    store: ConfigStore, mirror: RedisMirror, redis_conn: redis.Redis, redis_url: str
) -> None:
    address = flag("a:b", env="eu:west")
    subscriber = Subscriber(redis_url, mirror.prefix)
    try:
        first = store.set(address, {"rollout_percent": 5}, provenance=WHO)
        second = store.delete(address, provenance=WHO)
        assert mirror.catch_up() == 2
        eventually(lambda: len(subscriber.messages) == 2)
    finally:
        subscriber.close()
    value = {"enabled": False, "description": None, "rollout_percent": 5}  # defaults filled
    assert subscriber.messages == [
        _change(first.position, 1, "created", value),
        _change(second.position, 2, "deleted", None),
    ]
    assert mirror_keys(redis_conn, mirror.prefix) == {}  # deleted: the key is gone
    store.undelete(address, provenance=WHO)
    mirror.catch_up()
    name = f"{mirror.prefix}:eu%3Awest:feature_flag:a%3Ab"
    stored = orjson.loads(redis_conn.get(name) or b"{}")
    assert set(stored) == DOCUMENT_FIELDS
    assert (stored["value"], stored["version"], stored["updated_by"]) == (value, 3, "alice")
    assert stored["position"] == mirror.position() == store.projections.head()


def test_status_reports_position_head_and_lag(store: ConfigStore, mirror: RedisMirror) -> None:
    assert mirror.status() == ProjectionStatus("redis", 0, 0, 0)
    _write(store, 3)
    assert mirror.status() == ProjectionStatus("redis", 0, 3, 3)
    assert mirror.catch_up() == 3
    assert mirror.status() == ProjectionStatus("redis", 3, 3, 0)
    _write(store, 1, start=3)
    assert mirror.status() == ProjectionStatus("redis", 3, 4, 1)
    assert mirror.catch_up() == 1
    assert mirror.catch_up() == 0
    assert mirror.position() == 4


def test_rebuild_and_flushed_redis_start_over(
    store: ConfigStore,
    mirror: RedisMirror,
    redis_conn: redis.Redis,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    _write(store, 250)
    store.delete(flag("f1"), provenance=WHO)
    assert mirror.catch_up() == 251
    prefix = mirror.prefix
    redis_conn.set(f"{prefix}:default:feature_flag:ghost", b"{}")
    redis_conn.set(f"{prefix}:default:feature_flag:f2", b"tampered")
    assert mirror.rebuild() == 251
    assert f"{prefix}:default:feature_flag:ghost" not in mirror_keys(redis_conn, prefix)
    store.projections.catch_up()
    assert assert_mirror_equals_current(redis_conn, prefix, db, schema) == 4
    for key in list(redis_conn.scan_iter(match=f"{prefix}:*")):
        redis_conn.delete(key)  # Redis flushed: no position means from the start
    assert mirror.position() == 0
    assert mirror.catch_up() == 251
    assert assert_mirror_equals_current(redis_conn, prefix, db, schema) == 4


def test_position_beyond_the_head_is_refused(
    store: ConfigStore,
    mirror: RedisMirror,
    redis_conn: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _write(store, 3)
    mirror.catch_up()
    before = mirror_keys(redis_conn, mirror.prefix)
    redis_conn.set(f"{mirror.prefix}:_position", 50)
    _write(store, 2, start=3)
    with (
        caplog.at_level(logging.ERROR, logger="conduit_config.redis"),
        pytest.raises(MirrorAheadError) as caught,
    ):
        mirror.catch_up()
    assert isinstance(caught.value, StorageError)
    assert "at position 50, beyond the log's head (5)" in str(caught.value)
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "mirror rebuild" in caplog.records[0].getMessage()
    assert mirror_keys(redis_conn, mirror.prefix) == before
    assert mirror.position() == 50
    assert mirror.rebuild() == 5


def test_unreachable_redis_is_a_storage_error(store: ConfigStore) -> None:
    port = free_port()
    client = redis_client(f"redis://127.0.0.1:{port}/0", timeout=1)
    unreachable = RedisMirror(store=store, client=client, prefix="nowhere")
    started = time.monotonic()
    for call in (unreachable.catch_up, unreachable.status, unreachable.rebuild):
        with pytest.raises(StorageError) as caught:
            call()
        assert str(caught.value).startswith("Redis unavailable: ")
        assert f"127.0.0.1:{port}" in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert time.monotonic() - started < 3  # fails fast: run() backs off itself
    unreachable.close()


def test_run_follows_the_log_and_stops_promptly(store: ConfigStore, mirror: RedisMirror) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=mirror.run, args=(stop,))
    thread.start()
    try:
        for i in range(5):
            store.set(flag(f"live{i}"), {"rollout_percent": i}, provenance=WHO)
            eventually(lambda: mirror.position() == store.projections.head(), timeout=5)
    finally:
        time.sleep(0.3)  # let it go idle in its wait for a NOTIFY
        started = time.monotonic()
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 0.5
    assert mirror.position() == 5


def test_run_beyond_the_head_logs_an_error_and_waits(
    store: ConfigStore,
    mirror: RedisMirror,
    redis_conn: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No warnings, nothing written, and a stop is still prompt in the long wait."""
    _write(store, 2)
    redis_conn.set(f"{mirror.prefix}:_position", 50)
    stop = threading.Event()
    thread = threading.Thread(target=mirror.run, args=(stop,))
    with caplog.at_level(logging.INFO, logger="conduit_config.redis"):
        thread.start()
        try:
            eventually(lambda: any(r.levelname == "ERROR" for r in caplog.records), timeout=10)
            time.sleep(0.3)  # in its wait before the next attempt
        finally:
            started = time.monotonic()
            stop.set()
            thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 0.5
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "beyond the log's head (2)" in caplog.records[0].getMessage()
    assert mirror.position() == 50


def test_open_mirror_reads_the_settings(
    store: ConfigStore, make_settings: Callable[..., Settings], redis_url: str
) -> None:
    assert open_mirror(make_settings(), store) is None
    opened = open_mirror(
        make_settings(redis_url=redis_url, redis_prefix="p.1", projection_batch_size=9), store
    )
    assert opened is not None
    assert (opened.prefix, opened.batch_size, opened.position()) == ("p.1", 9, 0)
    opened.close()
    for url, problem in (
        ("redis://127.0.0.1:notaport/0", "Port could not be cast to integer"),
        ("unix://", "needs a socket path"),
    ):
        with pytest.raises(SettingsError) as caught:
            open_mirror(make_settings(redis_url=url), store)
        assert str(caught.value).startswith("invalid settings: CONDUIT_CONFIG_REDIS_URL: ")
        assert problem in str(caught.value)
    with pytest.raises(SettingsError, match="CONDUIT_CONFIG_REDIS_URL: Value error, must start"):
        make_settings(redis_url="http://127.0.0.1:6379")
    with pytest.raises(SettingsError, match="invalid Redis prefix 'a:b'"):
        RedisMirror(store=store, client=redis_client(redis_url), prefix="a:b")


def test_a_value_nested_deeper_than_orjson_allows_does_not_stall_the_mirror(
    store: ConfigStore, mirror: RedisMirror, redis_conn: redis.Redis
) -> None:
    # An older release could store a value nesting ~300 levels (virtual_key metadata).
    deep = Address("default", "virtual_key", "deep")
    key_hash = "0" * 64
    write_unchecked(store, deep, {"key_hash": key_hash, "metadata": nested(300)})
    _write(store, 3)
    value = {"key_hash": key_hash, "metadata": nested(300), "description": "still followed"}
    write_unchecked(store, deep, value)
    assert mirror.catch_up() == 5
    name = f"{mirror.prefix}:default:virtual_key:deep"
    document = json.loads(redis_conn.get(name) or b"{}")
    assert document["version"] == 2
    assert document["value"]["metadata"] == nested(300)
    assert document["value"]["description"] == "still followed"
    flags = {n for n in mirror_keys(redis_conn, mirror.prefix) if ":feature_flag:" in n}
    assert len(flags) == 3
    assert mirror.position() == store.projections.head()
