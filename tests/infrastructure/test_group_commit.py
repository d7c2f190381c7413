"""Group commit: concurrent appends share a transaction, and a request whose versions
are taken fails alone."""

from __future__ import annotations

import threading
import time

from eventsourcing.persistence import StoredEvent

from domain.address import Address
from domain.entry import ConfigEntry, Provenance
from infrastructure.persistence.group import AppendRequest, GroupCommitter
from infrastructure.persistence.recorder import IndexingRecorder
from infrastructure.store import ConfigStore

WHO = Provenance(actor="t", correlation_id="c")


def _request(store: ConfigStore, entry: ConfigEntry) -> AppendRequest:
    events = [store.app.mapper.to_stored_event(e) for e in entry.collect_events()]
    address = entry.address
    return AppendRequest(events, [(address.environment, address.area, address.key)] * len(events))


def _changed(store: ConfigStore, address: Address, percent: int) -> ConfigEntry:
    entry = store.load(address)
    assert entry is not None
    entry.set({"rollout_percent": percent}, WHO, 1)
    return entry


def test_a_conflicting_request_fails_alone_in_its_group(store: ConfigStore) -> None:
    a, b = Address("default", "feature_flag", "a"), Address("default", "feature_flag", "b")
    store.set(a, {}, provenance=WHO)
    store.set(b, {}, provenance=WHO)
    head = store.projections.head()
    stale = _changed(store, a, 1)  # version 2 of a, planned from version 1 ...
    store.set(a, {"rollout_percent": 2}, provenance=WHO)  # ... which someone else took
    first, twin = _changed(store, b, 3), _changed(store, b, 4)  # both want version 2 of b
    fresh = store.set(Address("default", "feature_flag", "c"), {}, provenance=WHO)
    new = ConfigEntry.create(Address("default", "feature_flag", "d"), {}, WHO, 1)
    group = [_request(store, e) for e in (stale, first, twin, new)]
    recorder = store.app.recorder
    assert isinstance(recorder, IndexingRecorder)
    recorder._lead_group(group)
    assert [r.positions is not None for r in group] == [False, True, False, True]
    # Positions rise in group order (a rolled-back first attempt may leave a gap before).
    assert group[1].positions is not None and group[3].positions is not None
    assert fresh.position < group[1].positions[0] < group[3].positions[0]
    assert store.get(b).stored == {"rollout_percent": 3}
    assert store.get(a).stored == {"rollout_percent": 2}
    assert [len(store.history(x)) for x in (a, b)] == [2, 2]  # nothing of the failed ones
    assert store.get(Address("default", "feature_flag", "d")).version == 1
    assert store.projections.head() > head


def test_group_committer_gives_each_caller_its_own_outcome() -> None:
    groups: list[int] = []
    counter = iter(range(1, 10**6))

    def append(group: list[AppendRequest]) -> None:
        groups.append(len(group))
        time.sleep(0.002)  # an append in flight, so others queue up behind it
        for member in group:
            member.positions = [next(counter) for _ in member.events]

    committer = GroupCommitter(append, max_events=8)
    results: dict[int, list[int]] = {}

    def call(i: int) -> None:
        events = [StoredEvent(originator_id=i, originator_version=1, topic="t", state=b"")] * (
            1 + i % 3
        )
        done = committer.submit(AppendRequest(events, [(None, None, None)] * len(events)))
        assert done.positions is not None and done.error is None
        results[i] = done.positions

    threads = [threading.Thread(target=call, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p for positions in results.values() for p in positions) == list(
        range(1, sum(1 + i % 3 for i in range(40)) + 1)
    )
    assert all(len(results[i]) == 1 + i % 3 for i in range(40))
    assert sum(groups) == 40 and max(groups) > 1  # requests were combined


def test_a_failed_group_append_reaches_every_member() -> None:
    def append(group: list[AppendRequest]) -> None:
        raise RuntimeError("database went away")

    committer = GroupCommitter(append)
    done = committer.submit(AppendRequest([], []))
    assert isinstance(done.error, RuntimeError) and done.positions is None


def test_an_interrupted_next_leader_does_not_stall_later_writers() -> None:
    def append(group: list[AppendRequest]) -> None:
        for member in group:
            member.positions = [1]

    committer = GroupCommitter(append)
    stuck = AppendRequest([], [])
    # As if `stuck` had been made the next leader and was interrupted before leading.
    with committer._lock:
        committer._waiting.append(stuck)
        committer._leading = stuck.leads = True
    committer._abandon(stuck)
    finished: list[AppendRequest] = []
    later = threading.Thread(
        target=lambda: finished.append(committer.submit(AppendRequest([], [])))
    )
    later.start()
    later.join(timeout=5)
    assert [r.positions for r in finished] == [[1]]


def test_a_request_repeating_a_version_fails_alone(store: ConfigStore) -> None:
    a, b = Address("default", "feature_flag", "a"), Address("default", "feature_flag", "b")
    store.set(a, {}, provenance=WHO)
    store.set(b, {}, provenance=WHO)
    good = _request(store, _changed(store, a, 1))
    twice = _request(store, _changed(store, b, 2))
    twice.events = [*twice.events, *twice.events]
    twice.rows = [*twice.rows, *twice.rows]
    recorder = store.app.recorder
    assert isinstance(recorder, IndexingRecorder)
    recorder._lead_group([good, twice])
    assert good.positions is not None and twice.positions is None
    assert store.get(a).version == 2 and store.get(b).version == 1
