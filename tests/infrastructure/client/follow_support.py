"""Helpers of the follow tests (multiprocess, reconnect): a workload of valid changes,
what the log and the store say a follower must have seen, and the follower process.

``python -m tests.infrastructure.client.follow_support ENV RESULT [lkg]`` is one follower
process: it connects (settings from the ``CONDUIT_CONFIG_`` variables), records every
change it is told of, prints ``READY <position>``, reads a target position from stdin,
waits for it, closes and writes its position, changes and typed values to RESULT (JSON).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from domain.address import Address
from domain.areas.base import SINGLETON_KEY
from domain.effective import effective
from domain.entry import Provenance
from infrastructure.client import ConfigClient, LiveChange, connect
from infrastructure.store import ConfigStore, WriteResult
from infrastructure.store.readmodels import AuditQuery

#: (position, area, key, version, event) of one change.
Change = list[Any]
Values = dict[str, dict[str, Any]]


def as_change(change: LiveChange) -> Change:
    """The comparable form of a change a client delivered."""
    return [change.position, change.area, change.key, change.version, change.event]


class Workload:
    """Valid changes across a few areas and environments: sets and patches (every one a
    new value), deletes, undeletes and rollbacks, chosen by a seeded random generator."""

    def __init__(self, environments: list[str], *, seed: int, weights: list[int] | None = None):
        self.environments = environments
        self.weights = weights or [1] * len(environments)
        self.rng = random.Random(seed)
        self.live: dict[Address, int] = {}  # address -> version
        self.deleted: set[Address] = set()
        self.count = 0
        self.who = Provenance(actor="workload", source="test", correlation_id="follow-tests")

    def _can_roll_back(self, store: ConfigStore, address: Address) -> bool:
        # A rollback to the value the entry already holds appends nothing.
        if self.live[address] < 2:
            return False
        return store.get(address, version=1).value != store.get(address).value

    def step(self, store: ConfigStore) -> WriteResult:
        """Write one change (never a no-op)."""
        self.count += 1
        n = self.count
        rng = self.rng
        env = rng.choices(self.environments, self.weights)[0]
        live = sorted((a for a in self.live if a.environment == env), key=str)
        keyed = [a for a in live if a.area != "router"]
        deleted = sorted((a for a in self.deleted if a.environment == env), key=str)
        roll = rng.random()
        if roll < 0.05 and keyed:
            address = rng.choice(keyed)
            result = store.delete(address, provenance=self.who)
            self.deleted.add(address)
            del self.live[address]
            return result
        if roll < 0.08 and deleted:
            address = rng.choice(deleted)
            result = store.undelete(address, provenance=self.who)
            self.deleted.discard(address)
            self.live[address] = result.version
            return result
        rolled = [] if roll >= 0.11 else [a for a in live if self._can_roll_back(store, a)]
        if rolled:
            address = rng.choice(rolled)
            result = store.rollback(address, to_version=1, provenance=self.who)
            self.live[address] = result.version
            return result
        area = rng.choices(
            ["router", "feature_flag", "global_setting", "model_deployment"], [2, 4, 2, 2]
        )[0]
        key = SINGLETON_KEY if area == "router" else f"{area[:1]}{rng.randrange(8)}"
        address = Address(env, area, key)
        if address in self.deleted:
            result = store.undelete(address, provenance=self.who)
        elif area == "router" and address in self.live:
            merge = {"retry_base_delay_ms": n, "max_retries": n % 11}
            result = store.patch(address, merge, provenance=self.who)
        elif area == "router":
            result = store.set(address, {"retry_base_delay_ms": n}, provenance=self.who)
        elif area == "feature_flag" and address in self.live and rng.random() < 0.5:
            result = store.patch(address, {"rollout_percent": n % 101}, provenance=self.who)
        elif area == "feature_flag":
            value = {"enabled": n % 2 == 0, "description": f"flag {n}", "rollout_percent": n % 101}
            result = store.set(address, value, provenance=self.who)
        elif area == "global_setting":
            result = store.set(address, {"value": f"value {n}"}, provenance=self.who)
        else:
            value = {"model_name": f"model-{n}", "provider": "openai", "weight": n}
            result = store.set(address, value, provenance=self.who)
        self.deleted.discard(address)
        self.live[address] = result.version
        return result


def logged_changes(store: ConfigStore, environment: str, *, after: int) -> list[Change]:
    """The environment's changes after ``after``, oldest first, as the audit trail has them."""
    rows = store.audit(AuditQuery(environment=environment, limit=1_000_000))
    return [
        [r.position, r.area, r.key, r.version, r.event]
        for r in reversed(rows)
        if r.position > after
    ]


def stored_values(store: ConfigStore, environment: str) -> Values:
    """Every live entry's complete value, area -> key -> value, singletons' defaults too."""
    values: Values = {model.area_name: {} for model in store.registry}
    for entry in store.list_entries(environment):
        values[entry.address.area][entry.address.key] = entry.value
    for model in store.registry:
        if model.singleton and SINGLETON_KEY not in values[model.area_name]:
            default = effective(model, SINGLETON_KEY, {}, ()).value
            values[model.area_name][SINGLETON_KEY] = default.model_dump(mode="json")
    return values


def client_values(client: ConfigClient) -> Values:
    """Every value the client serves, read through the typed managers."""
    values: Values = {}
    for model in client.view.registry:
        manager = client.manager(model)
        typed = {SINGLETON_KEY: manager.current} if model.singleton else dict(manager.all())
        for value in typed.values():
            assert isinstance(value, model)
        values[model.area_name] = {k: v.model_dump(mode="json") for k, v in typed.items()}
    return values


def follower_process(environment: str, result: Path, *, keep_copy: bool) -> None:
    """The body of one follower process (see the module's docstring)."""
    seen: list[Change] = []
    copy: dict[str, Any] = {} if keep_copy else {"last_known_good": None}
    client = connect(environment, environ={}, **copy)
    try:
        client.on_change(lambda change: seen.append(as_change(change)))
        print(f"READY {client.position}", flush=True)
        target = int(sys.stdin.readline())
        client.wait_for(target, timeout=60)
        status = client.status()
    finally:
        client.close()  # stops the follower, then drains the subscription's queue
    report = {
        "position": client.position,
        "connected": status.connected,
        "last_error": status.last_error,
        "changes": seen,
        "values": client_values(client),
    }
    result.write_text(json.dumps(report))


if __name__ == "__main__":
    follower_process(sys.argv[1], Path(sys.argv[2]), keep_copy=sys.argv[3:] == ["lkg"])
