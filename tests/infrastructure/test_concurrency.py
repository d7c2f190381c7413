"""Concurrent writers on one entry: no lost or duplicated update, conflicts reported."""

from __future__ import annotations

import threading
from collections import Counter

from domain.address import Address
from domain.entry import Provenance
from domain.errors import VersionConflictError
from infrastructure.store import ConfigStore

COUNTER = Address("default", "global_setting", "counter")
THREADS, ROUNDS = 6, 15


def _increment_until_done(store: ConfigStore, name: str, outcome: Counter[str]) -> None:
    who = Provenance(actor=name, source="api", correlation_id=name)
    done = 0
    while done < ROUNDS:
        view = store.get(COUNTER)
        new = str(int(view.value["value"]) + 1)
        try:
            store.set(COUNTER, {"value": new}, provenance=who, expected_version=view.version)
        except VersionConflictError as exc:
            assert exc.current is not None and exc.current > view.version
            outcome["conflicts"] += 1
            continue
        outcome["writes"] += 1
        done += 1


def test_expected_versions_lose_no_update(store: ConfigStore) -> None:
    store.set(COUNTER, {"value": "0"}, provenance=Provenance(actor="t", correlation_id="0"))
    outcome: Counter[str] = Counter()
    threads = [
        threading.Thread(target=_increment_until_done, args=(store, f"w{i}", outcome))
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    final = store.get(COUNTER)
    assert outcome["writes"] == THREADS * ROUNDS
    assert final.value["value"] == str(THREADS * ROUNDS)
    assert final.version == THREADS * ROUNDS + 1
    assert outcome["conflicts"] > 0
    history = store.history(COUNTER)
    values = [int(h.changes[0]["value"]) for h in history]
    assert values == list(range(THREADS * ROUNDS + 1))


def test_writers_without_expected_version_all_land(store: ConfigStore) -> None:
    address = Address("default", "feature_flag", "race")
    store.set(address, {"rollout_percent": 0}, provenance=Provenance(actor="t", correlation_id="0"))

    def write(i: int) -> None:
        who = Provenance(actor=f"w{i}", correlation_id=str(i))
        for j in range(10):
            store.patch(address, {"description": f"{i}-{j}"}, provenance=who)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    history = store.history(address)
    assert len(history) == THREADS * 10 + 1
    assert Counter(h.actor for h in history[1:]) == {f"w{i}": 10 for i in range(THREADS)}
