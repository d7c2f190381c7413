"""Three ``serve`` processes on one PostgreSQL: one leader; ``kill -9`` it; another
leads within the bound; writes through every live instance succeed throughout; the
projections end exactly once (a rebuild equals them) and every instance agrees."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import Provenance
from infrastructure.cluster.registry import InstanceInfo, InstanceRegistry
from infrastructure.store import ConfigStore
from tests.cli.conftest import Runner
from tests.cli.conftest import cli as cli  # noqa: PLC0414 (the fixture, on this schema)
from tests.conftest import TEST_SECRET_KEY
from tests.infrastructure.cluster.redis_support import (
    Subscriber,
    assert_mirror_equals_current,
    logged_positions,
)
from tests.infrastructure.http.server_support import Server, free_port
from tests.network import eventually

POLL, HEARTBEAT, INSTANCE_TIMEOUT = 0.2, 0.2, 2.0
# A leader killed with -9 frees its lock at once; a follower takes it at its next poll
# and reports it at its next heartbeat. The bound leaves room for a loaded CI machine.
FAILOVER_BOUND = POLL + HEARTBEAT + 3.0


StartServers = Callable[..., list[Server]]


@pytest.fixture
def start_servers(database_url: str, schema: str, tmp_path: Path) -> Iterator[StartServers]:
    """``start_servers(3, **variables)``: servers on this test's schema, ready."""
    base = {
        "CONDUIT_CONFIG_DATABASE_URL": database_url,
        "CONDUIT_CONFIG_DATABASE_SCHEMA": schema,
        "CONDUIT_CONFIG_SECRET_KEY": TEST_SECRET_KEY,
        "CONDUIT_CONFIG_HOME": str(tmp_path / "home"),
        "CONDUIT_CONFIG_LEADER_POLL_SECONDS": str(POLL),
        "CONDUIT_CONFIG_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "CONDUIT_CONFIG_INSTANCE_TIMEOUT_SECONDS": str(INSTANCE_TIMEOUT),
        "CONDUIT_CONFIG_SCHEDULE_POLL_SECONDS": "0.2",
    }
    started: list[Server] = []

    def start(count: int, **variables: str) -> list[Server]:
        group = [
            Server({**base, **variables}, tmp_path / f"serve-{len(started) + i}.log", free_port())
            for i in range(count)
        ]
        started.extend(group)
        for server in group:
            server.wait_ready()
        return group

    try:
        yield start
    finally:
        for server in started:
            server.kill()


@pytest.fixture
def servers(start_servers: StartServers) -> list[Server]:
    return start_servers(3)


def _alive(registry: InstanceRegistry) -> list[InstanceInfo]:
    return [i for i in registry.instances(timeout_seconds=INSTANCE_TIMEOUT) if i.alive]


def _leader(registry: InstanceRegistry, *, not_pid: int | None = None) -> InstanceInfo | None:
    leaders = [i for i in _alive(registry) if i.role == "leader" and i.pid != not_pid]
    assert len(leaders) <= 1, leaders
    return leaders[0] if leaders else None


class Writers:
    """Writes through every live server in turn until stopped; counts every answer."""

    def __init__(self, servers: list[Server], token: str) -> None:
        self.servers = servers
        self.dead: set[int] = set()
        self.statuses: list[int] = []
        self._headers = {"Authorization": f"Bearer {token}"}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> Writers:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        for n in itertools.count():
            if self._stop.is_set():
                return
            live = [s for s in self.servers if s.proc.pid not in self.dead]
            server = live[n % len(live)]
            try:
                answer = httpx.put(
                    f"{server.url}/v1/envs/default/entries/feature_flag/f{n % 25}",
                    json={"rollout_percent": n % 101},
                    headers=self._headers,
                    timeout=10,
                    trust_env=False,
                )
            except httpx.TransportError:
                if server.proc.pid in self.dead:
                    continue  # the request raced with the kill
                raise
            self.statuses.append(answer.status_code)


def _table(db: psycopg.Connection[Any], schema: str, table: str, order: str) -> list[Any]:
    query = SQL("SELECT * FROM {}.{} ORDER BY {}").format(
        Identifier(schema), Identifier(table), SQL(order)
    )
    return db.execute(query).fetchall()


def test_kill_9_of_the_leader_fails_over_and_nothing_is_lost_or_repeated(
    servers: list[Server],
    store: ConfigStore,
    db: psycopg.Connection[Any],
    schema: str,
    cli: Runner,
) -> None:
    registry = InstanceRegistry(datastore=store.app.datastore)
    eventually(lambda: len(_alive(registry)) == 3 and _leader(registry), 10)
    token = next(s.token for s in servers if s.token)
    assert token is not None
    with Writers(servers, token) as writers:
        time.sleep(1.0)
        old = _leader(registry)
        assert old is not None
        victim = next(s for s in servers if s.proc.pid == old.pid)
        writers.dead.add(victim.proc.pid)
        killed_at = time.monotonic()
        victim.proc.kill()
        new = eventually(lambda: _leader(registry, not_pid=old.pid), FAILOVER_BOUND)
        failover = time.monotonic() - killed_at
        time.sleep(1.0)
    print(f"\nfailover after kill -9: {failover:.3f} s (new leader {new.id})")
    assert failover < FAILOVER_BOUND
    assert len(writers.statuses) > 20
    assert set(writers.statuses) <= {200, 201}, writers.statuses
    head = store.index.head()
    eventually(lambda: all(s.position == head for s in store.projection_status()), 10)
    events = _table(db, schema, "cc_event_index", "position")
    audit = _table(db, schema, "cc_audit", "position")
    assert [row[0] for row in audit] == [row[0] for row in events]  # each event once
    live = {t: _table(db, schema, t, "1") for t in ("cc_current", "cc_audit")}
    for name in ("current", "audit"):
        store.rebuild_projection(name)
    assert {t: _table(db, schema, t, "1") for t in live} == live

    eventually(lambda: len(_alive(registry)) == 2, INSTANCE_TIMEOUT + 5)  # the victim's rows age
    timeout = {"CONDUIT_CONFIG_INSTANCE_TIMEOUT_SECONDS": str(INSTANCE_TIMEOUT)}
    shown = json.loads(cli("cluster", "status", "--json", **timeout).stdout)
    assert shown["leader"] == new.id
    assert sorted(i["alive"] for i in shown["instances"]) == [False, True, True]
    checked = cli("cluster", "check", "--json", "--wait", "10", **timeout)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["consistent"] is True
    assert report["common_position"] == head
    assert len(report["instances"]) == 2


def _kill_leader(registry: InstanceRegistry, servers: list[Server], writers: Writers) -> None:
    old = eventually(lambda: _leader(registry), 10)
    victim = next(s for s in servers if s.proc.pid == old.pid)
    writers.dead.add(victim.proc.pid)
    victim.proc.kill()
    eventually(lambda: _leader(registry, not_pid=old.pid), FAILOVER_BOUND)


def test_the_redis_mirror_survives_two_leader_kills_exactly_once(
    redis_url: str,
    redis_conn: redis.Redis,
    redis_prefix: str,  # before the servers: its keys are deleted after they stopped
    start_servers: StartServers,
    store: ConfigStore,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    group = start_servers(
        3, CONDUIT_CONFIG_REDIS_URL=redis_url, CONDUIT_CONFIG_REDIS_PREFIX=redis_prefix
    )
    registry = InstanceRegistry(datastore=store.app.datastore)
    token = next(s.token for s in group if s.token)
    assert token is not None
    listener = Subscriber(redis_url, redis_prefix)
    try:
        with Writers(group, token) as writers:
            for _ in range(2):
                time.sleep(1.0)
                _kill_leader(registry, group, writers)
            time.sleep(1.0)
        assert set(writers.statuses) <= {200, 201} and len(writers.statuses) > 20
        store.projections.catch_up()
        expected = logged_positions(db, schema)
        eventually(lambda: listener.positions() == expected, what="every change published")
    finally:
        listener.close()
    eventually(
        lambda: redis_conn.get(f"{redis_prefix}:_position") == str(store.index.head()).encode(),
        what="the mirror at the head",
    )
    assert assert_mirror_equals_current(redis_conn, redis_prefix, db, schema) == 25


def test_a_scheduled_change_applies_once_across_a_leader_kill_and_a_cancelled_one_never(
    servers: list[Server], store: ConfigStore
) -> None:
    registry = InstanceRegistry(datastore=store.app.datastore)
    due = datetime.now(UTC) + timedelta(seconds=10)
    who = Provenance(actor="planner", correlation_id="sched")
    flag, never = (Address("default", "feature_flag", k) for k in ("launch", "never"))
    kept = store.schedule_change(flag, "set", {"enabled": True}, due_at=due, provenance=who)
    dropped = store.schedule_change(never, "set", {"enabled": True}, due_at=due, provenance=who)
    store.cancel_scheduled(dropped.id, provenance=who)
    old = eventually(lambda: _leader(registry), 10)
    next(s for s in servers if s.proc.pid == old.pid).proc.kill()
    eventually(lambda: _leader(registry, not_pid=old.pid), FAILOVER_BOUND)
    assert datetime.now(UTC) < due, "the leader should die before the change is due"
    eventually(lambda: store.scheduled(kept.id).status == "applied", 15)
    time.sleep(1.0)  # every survivor's scheduler has run since
    history = store.history(flag)
    assert [(h.version, h.source) for h in history] == [(1, "scheduler")]
    assert history[0].recorded_at >= due
    assert store.load(never) is None
    assert store.scheduled(dropped.id).status == "cancelled"
