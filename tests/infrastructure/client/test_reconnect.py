"""A client keeps following through dropped connections: its LISTEN connection and its
pool's connections are terminated by the server (``pg_terminate_backend``) while a writer
keeps writing; it reconnects, misses nothing, repeats nothing, and says so in status().

Only the client's connections are terminated: the client connects with
``application_name`` set (its LISTEN connection carries it; its pool's do not), the
writer's pool connections are all labelled before anything is killed, and every other
connection of the test database that is not the killer's own counts as the client's pool.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Composed

from infrastructure.client import ClientStatus, ConfigClient, LiveChange, connect
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from tests.infrastructure.client.conftest import ClientFor
from tests.infrastructure.client.follow_support import (
    Change,
    Workload,
    as_change,
    client_values,
    logged_changes,
    stored_values,
)

CLIENT_APP = "conduit-test-client"
WRITER_APP = "conduit-test-writer"
ENV = "production"
LISTENER = SQL("application_name = {}").format(CLIENT_APP)
POOL = SQL("application_name NOT IN ({}, {})").format(CLIENT_APP, WRITER_APP)
EVERYTHING = SQL("application_name <> {}").format(WRITER_APP)
KILLS = {"listener": LISTENER, "pool": POOL, "both": EVERYTHING}


def label_pool(store: ConfigStore, name: str) -> None:
    """Set ``application_name`` on every connection the store's pool may hand out."""
    pool = store.app.datastore.pool
    held = [pool.getconn() for _ in range(pool.max_size)]
    try:
        for conn in held:
            conn.execute("SELECT set_config('application_name', %s, false)", (name,))
    finally:
        for conn in held:
            pool.putconn(conn)


class Killer:
    """Terminates backends of the test database matching a filter (never its own)."""

    def __init__(self, database_url: str) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)
        self.killed = 0

    def kill(self, which: Composed) -> int:
        query = SQL(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND {}"
        ).format(which)
        row = self.conn.execute(query).fetchone()
        count = int(row[0]) if row else 0
        self.killed += count
        return count

    def count(self, which: Composed) -> int:
        query = SQL(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND {}"
        ).format(which)
        row = self.conn.execute(query).fetchone()
        return int(row[0]) if row else 0


@pytest.fixture
def killer(database_url: str) -> Iterator[Killer]:
    """A connection that terminates others."""
    made = Killer(database_url)
    try:
        yield made
    finally:
        made.conn.close()


@pytest.fixture
def writer(store: ConfigStore) -> ConfigStore:
    """The test's store, its connections labelled so that they are never terminated."""
    label_pool(store, WRITER_APP)
    return store


class Recorder:
    """Every change a subscription delivers, in delivery order."""

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def __call__(self, change: LiveChange) -> None:
        self.changes.append(as_change(change))


class StatusWatch:
    """Samples ``status()`` every few milliseconds in a thread."""

    def __init__(self, client: ConfigClient) -> None:
        self.client = client
        self.samples: list[ClientStatus] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.samples.append(self.client.status())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def errors(self) -> list[str]:
        return [s.last_error for s in self.samples if s.last_error and not s.connected]


@contextmanager
def following(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> Iterator[tuple[ConfigClient, Recorder]]:
    """A client of ``ENV`` whose LISTEN connection is named, recording every change."""
    settings = make_settings(
        database_url=make_conninfo(database_url, application_name=CLIENT_APP),
        home=tmp_path / "home",
    )
    client = connect(ENV, settings=settings, environ={}, last_known_good=None)
    recorder = Recorder()
    try:
        client.on_change(recorder)
        yield client, recorder
    finally:
        client.close()


def wait_listening(killer: Killer, timeout: float = 10.0) -> None:
    """Wait until the client's follower has its LISTEN connection (it starts in a thread)."""
    deadline = time.monotonic() + timeout
    while killer.count(LISTENER) != 1:
        assert time.monotonic() < deadline, "the client's LISTEN connection carries its name"
        time.sleep(0.01)


def wait_connected(client: ConfigClient, timeout: float = 15.0) -> ClientStatus:
    """The client's status once it reports being connected again."""
    deadline = time.monotonic() + timeout
    while not (status := client.status()).connected and time.monotonic() < deadline:
        time.sleep(0.01)
    return status


def check_followed(
    client: ConfigClient, recorder: Recorder, store: ConfigStore, *, after: int
) -> None:
    """At the head, told of every change once and in order, serving the store's values.
    Call after ``client.close()`` (which drains the subscription)."""
    assert client.position == store.projections.head()
    positions = [change[0] for change in recorder.changes]
    assert positions == sorted(set(positions)), "changes repeated or out of order"
    assert recorder.changes == logged_changes(store, ENV, after=after)
    assert client_values(client) == stored_values(store, ENV)


def test_follows_while_its_connections_are_terminated(
    writer: ConfigStore,
    killer: Killer,
    make_settings: Callable[..., Settings],
    database_url: str,
    tmp_path: Path,
) -> None:
    workload = Workload([ENV, "staging"], seed=11, weights=[4, 1])
    for _ in range(20):
        workload.step(writer)
    start = writer.projections.head()
    with following(make_settings, database_url, tmp_path) as (client, recorder):
        assert client.position == start
        wait_listening(killer)
        watch = StatusWatch(client)
        failures: list[BaseException] = []
        stop_writing = threading.Event()

        def write() -> None:
            try:
                while not stop_writing.is_set() or workload.count < 300:
                    workload.step(writer)
                    time.sleep(0.003)
            except BaseException as exc:
                failures.append(exc)
                raise

        thread = threading.Thread(target=write, name="test-writer")
        thread.start()
        rng = random.Random(3)
        kinds = itertools.cycle(KILLS)
        rounds = dict.fromkeys(KILLS, 0)
        deadline = time.monotonic() + 30
        try:
            # Rounds of each kind, each once the client has recovered from the last one.
            while min(rounds.values()) < 3 and not failures:
                assert time.monotonic() < deadline, f"too few kills landed (following?): {rounds}"
                wait_connected(client)
                time.sleep(rng.uniform(0.02, 0.1))
                kind = next(kinds)
                if killer.kill(KILLS[kind]):
                    rounds[kind] += 1
        finally:
            stop_writing.set()
            thread.join(timeout=60)
        assert not failures, f"the writer failed (its connections were hit?): {failures}"
        head = writer.projections.head()
        client.wait_for(head, timeout=30)
        status = wait_connected(client)
        watch.stop()
        assert (status.connected, status.last_error, status.stale) == (True, None, False)
        assert status.position == head
        assert watch.errors, "status() never reported the lost connection"
    check_followed(client, recorder, writer, after=start)


def test_follows_after_its_pool_connections_are_terminated(
    writer: ConfigStore,
    killer: Killer,
    make_settings: Callable[..., Settings],
    database_url: str,
    tmp_path: Path,
) -> None:
    workload = Workload([ENV], seed=5)
    workload.step(writer)
    start = writer.projections.head()
    with following(make_settings, database_url, tmp_path) as (client, recorder):
        wait_listening(killer)
        recoveries: list[float] = []
        for _ in range(3):
            for _ in range(15):
                workload.step(writer)
            client.wait_for(writer.projections.head(), timeout=15)
            wait_connected(client)
            assert killer.kill(POOL) >= 1, "the client's pool holds connections"
            watch = StatusWatch(client)
            for _ in range(15):
                workload.step(writer)
            # The next read after a NOTIFY goes through a dead pool connection.
            began = time.monotonic()
            client.wait_for(writer.projections.head(), timeout=20)
            recoveries.append(time.monotonic() - began)
            watch.stop()
            assert watch.errors, "the follower never hit a dead pool connection"
        status = wait_connected(client)
        assert (status.connected, status.last_error) == (True, None)
    check_followed(client, recorder, writer, after=start)
    # One failed read discards every dead connection: no slow walk through the pool.
    assert max(recoveries) < 3.0, recoveries


def test_status_reports_the_lost_connection_until_it_is_back(
    writer: ConfigStore,
    killer: Killer,
    make_settings: Callable[..., Settings],
    database_url: str,
    tmp_path: Path,
) -> None:
    with following(make_settings, database_url, tmp_path) as (client, recorder):
        wait_listening(killer)
        assert client.status().connected
        watch = StatusWatch(client)
        # Terminate every new LISTEN connection for a while: reconnections keep failing.
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            killer.kill(LISTENER)
            time.sleep(0.01)
        result = Workload([ENV], seed=1).step(writer)
        client.wait_for(result.position, timeout=20)
        status = wait_connected(client)
        watch.stop()
        assert (status.connected, status.last_error) == (True, None)
        assert killer.killed >= 2
        errors = watch.errors
        assert errors, "status() never reported the lost connection"
        assert all(error for error in errors)
        assert "terminat" in " ".join(errors).lower() or "closed" in " ".join(errors).lower()
        assert client.get("router") is not None
    assert [change[0] for change in recorder.changes] == [result.position]


def test_the_follower_takes_the_clients_connect_timeout(
    make_settings: Callable[..., Settings], client_home: Path, client_for: ClientFor
) -> None:
    client = client_for(settings=make_settings(home=client_home, connect_timeout=3))
    follower = client._follower
    assert follower is not None
    assert follower.connect_timeout == 3
