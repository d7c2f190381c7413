"""The write path: one-round-trip appends through ``cc_append`` and the entry cache.

``cc_append`` must keep what eventsourcing's recorder guarantees and what its DB
functions lose: the table lock (readers never skip an event), our index rows
in the same transaction, and no clash between applications sharing a schema.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import Provenance
from domain.errors import VersionConflictError
from infrastructure.persistence.recorder import EVENTS_TABLE, IndexingRecorder
from infrastructure.store import ConfigStore
from infrastructure.store.cache import EntryCache
from tests.conftest import StoreOpener

WHO = Provenance(actor="t", correlation_id="c")


def _ids(db: psycopg.Connection[Any], schema: str, after: int) -> list[int]:
    query = SQL("SELECT notification_id FROM {}.{} WHERE notification_id > %s ORDER BY 1")
    rows = db.execute(query.format(Identifier(schema), Identifier(EVENTS_TABLE)), (after,))
    return [int(r[0]) for r in rows.fetchall()]


def test_a_tailing_reader_never_skips_an_event_under_concurrent_writers(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    writers, per_writer = 6, 40
    done = threading.Event()
    seen: list[int] = []

    def write(w: int) -> None:
        for i in range(per_writer):
            address = Address("default", "feature_flag", f"w{w}-{i % 5}")
            store.set(address, {"rollout_percent": i}, provenance=WHO)

    def tail() -> None:
        while True:
            finished = done.is_set()
            seen.extend(_ids(db, schema, seen[-1] if seen else 0))
            if finished:
                return

    reader = threading.Thread(target=tail)
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    # Positions are issued in commit order: a reader that only ever asks for positions
    # after the last one it saw has still seen every event.
    assert seen == _ids(db, schema, 0)
    assert len(seen) == writers * per_writer


def test_every_event_has_its_index_row_in_the_same_transaction(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    for i in range(30):
        store.set(
            Address("default", "feature_flag", f"f{i % 7}"), {"rollout_percent": i}, provenance=WHO
        )
    events = _ids(db, schema, 0)
    index = db.execute(
        SQL("SELECT position, version, key FROM {}.cc_event_index ORDER BY 1").format(
            Identifier(schema)
        )
    ).fetchall()
    assert [r[0] for r in index] == events
    assert store.get(Address("default", "feature_flag", "f1")).version == len(
        [r for r in index if r[2] == "f1"]
    )


def test_two_applications_share_a_schema_and_the_append_function(
    open_test_store: StoreOpener,
) -> None:
    address = Address("default", "feature_flag", "shared")
    with open_test_store() as one, open_test_store() as two:
        one.set(address, {"rollout_percent": 1}, provenance=WHO)
        two.set(address, {"rollout_percent": 2}, provenance=WHO)
        # `one` caches version 1; its next write finds version 2 taken and starts again.
        written = one.patch(address, {"enabled": True}, provenance=WHO)
        assert written.version == 3
        assert two.get(address).stored == {"rollout_percent": 2, "enabled": True}
        # An expected version that the cache does not know is checked against the database.
        assert two.set(address, {}, provenance=WHO, expected_version=3).version == 4
        assert (
            one.set(address, {"rollout_percent": 9}, provenance=WHO, expected_version=4).version
            == 5
        )
        assert [h.event for h in one.history(address)] == [
            "created",
            "replaced",
            "changed",
            "replaced",
            "replaced",
        ]


def test_entry_cache_is_bounded_and_can_be_disabled(store: ConfigStore) -> None:
    entries = [
        store.set(Address("default", "feature_flag", f"c{i}"), {}, provenance=WHO) for i in range(3)
    ]
    cache = EntryCache(maxsize=2)
    for result in entries:
        loaded = store.load(result.address)
        assert loaded is not None
        cache.put(loaded)
    assert cache.get(entries[0].address) is None  # least recently used went first
    resumed = cache.get(entries[2].address)
    assert resumed is not None and (resumed.version, resumed.value) == (1, {})
    off = EntryCache(maxsize=0)
    off.put(resumed)
    assert off.get(entries[2].address) is None


@pytest.mark.parametrize("cache_size", [0, 100])
def test_writes_are_the_same_with_and_without_the_cache(
    open_test_store: StoreOpener, cache_size: int
) -> None:
    address = Address("default", "router", "default")
    with open_test_store(entry_cache_size=cache_size) as store:
        for retries in (1, 2, 2, 3):
            store.set(address, {"max_retries": retries}, provenance=WHO)
        store.delete(address, provenance=WHO)
        store.undelete(address, provenance=WHO)
        store.rollback(address, to_version=2, provenance=WHO)
        assert [h.version for h in store.history(address)] == [1, 2, 3, 4, 5, 6]
        assert store.get(address).stored == {"max_retries": 2}


def test_a_cached_state_is_never_the_reason_for_unchanged_or_a_refusal(
    open_test_store: StoreOpener,
) -> None:
    x, y = Address("default", "feature_flag", "x"), Address("default", "feature_flag", "y")
    with open_test_store() as one, open_test_store() as two:
        one.set(x, {"rollout_percent": 10}, provenance=WHO)
        one.set(y, {}, provenance=WHO)
        one.delete(y, provenance=WHO)
        two.set(x, {"rollout_percent": 20}, provenance=WHO)
        two.undelete(y, provenance=WHO)
        # `one` still remembers x at 10 and y deleted; both are stale.
        again = one.set(x, {"rollout_percent": 10}, provenance=WHO)
        assert (again.changed, again.version) == (True, 3)
        assert two.get(x).stored == {"rollout_percent": 10}
        assert one.patch(y, {"enabled": True}, provenance=WHO).version == 4
        two.set(x, {"rollout_percent": 30}, provenance=WHO)
        with pytest.raises(VersionConflictError):
            one.set(x, {"rollout_percent": 10}, provenance=WHO, expected_version=3)
        assert one.get(x).stored == {"rollout_percent": 30}


def test_an_append_whose_acknowledgement_was_lost_is_recognised(store: ConfigStore) -> None:
    address = Address("default", "feature_flag", "ack")
    store.set(address, {}, provenance=WHO)
    entry = store.load(address)
    assert entry is not None
    entry.set({"rollout_percent": 1}, WHO, 1)
    stored = [store.app.mapper.to_stored_event(e) for e in entry.collect_events()]
    recorder = store.app.recorder
    assert isinstance(recorder, IndexingRecorder)
    positions = recorder.insert_events(stored, addresses={entry.id: address})
    assert recorder._already_stored(stored) == positions
    other = [replace(stored[0], state=stored[0].state + b" ")]
    assert recorder._already_stored(other) is None
    with pytest.raises(IntegrityError):
        recorder.insert_events(stored, addresses={entry.id: address})


def test_writes_go_on_after_the_leaders_connection_breaks(store: ConfigStore) -> None:
    address = Address("default", "feature_flag", "conn")
    store.set(address, {}, provenance=WHO)
    recorder = store.app.recorder
    assert isinstance(recorder, IndexingRecorder)
    leader = recorder._leader_conn
    assert leader is not None
    with psycopg.connect(store.database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (leader.info.backend_pid,))
    assert store.set(address, {"enabled": True}, provenance=WHO).version == 2
    assert recorder._leader_conn is not None and recorder._leader_conn is not leader
    assert store.get(address).stored == {"enabled": True}
