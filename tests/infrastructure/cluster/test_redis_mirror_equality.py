"""The Redis mirror equals the ``current`` projection after thousands of mixed changes,
publishes every change exactly once, and never holds a secret in plaintext."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import psycopg
import redis

from domain.address import Address
from domain.document import parse_document
from domain.entry import Provenance
from domain.errors import ConfigStoreError
from infrastructure.auth import TokenService
from infrastructure.cluster.redis_mirror import RedisMirror
from infrastructure.store import ConfigStore
from tests.infrastructure.cluster.redis_support import (
    Subscriber,
    assert_mirror_equals_current,
    logged_positions,
    redis_texts,
)
from tests.network import eventually

WHO = Provenance(actor="mirror-test", source="api", correlation_id="m-1")
ENVIRONMENTS = ("default", "prod", "eu:west")  # a ':' in a name is escaped in keys


def _provider(secret: str) -> dict[str, Any]:
    return {"provider_type": "openai", "keys": [{"name": "main", "api_key": secret}]}


class History:
    """Random sets, patches, deletes, restores, rollbacks, secret-bearing providers,
    multi-entry imports and environment restores; remembers every plaintext secret."""

    def __init__(self, store: ConfigStore, seed: int) -> None:
        self.store = store
        self.rng = random.Random(seed)
        self.secrets: list[str] = []
        self.flags = [
            Address(e, "feature_flag", f"f{i}:x") for e in ENVIRONMENTS for i in range(15)
        ]
        self.providers = [Address("prod", "provider", f"p{i}") for i in range(4)]
        self.restore_point = 0
        self.bulk: Counter[str] = Counter()  # multi-entry commands that wrote

    def write_until(self, head: int) -> None:
        while self.store.projections.head() < head:
            try:
                self._one()
            except ConfigStoreError:
                continue  # e.g. a patch of a deleted entry: try another step

    def _one(self) -> None:
        rng, store = self.rng, self.store
        flag = rng.choice(self.flags)
        match rng.randrange(200):
            case n if n < 60:
                store.set(flag, {"rollout_percent": rng.randrange(101)}, provenance=WHO)
            case n if n < 100:
                store.patch(flag, {"enabled": rng.random() < 0.5}, provenance=WHO)
            case n if n < 120:
                store.delete(flag, provenance=WHO)
            case n if n < 140:
                store.undelete(flag, provenance=WHO)
            case n if n < 155:
                store.rollback(flag, to_version=rng.randint(1, 3), provenance=WHO)
            case n if n < 185:
                secret = f"sk-mirror-PLAINTEXT-{len(self.secrets)}"
                self.secrets.append(secret)
                store.set(rng.choice(self.providers), _provider(secret), provenance=WHO)
            case n if n < 195:
                store.patch(rng.choice(self.providers), {"enabled": False}, provenance=WHO)
            case n if n < 198:
                self._import()
            case _:
                self._restore()

    def _import(self) -> None:
        secret = f"sk-imported-PLAINTEXT-{len(self.secrets)}"
        self.secrets.append(secret)
        entries = {
            "feature_flag": {
                f"f{i}:x": {"rollout_percent": self.rng.randrange(101)} for i in range(8)
            },
            "global_setting": {f"g{i}": {"value": f"v{self.rng.random()}"} for i in range(5)},
            "provider": {"imported": _provider(secret)},
        }
        done = self.store.apply_document(
            parse_document({"entries": entries}), environment="prod", provenance=WHO
        )
        self.bulk["import"] += len(done.changes) > 1
        self.restore_point = self.restore_point or self.store.projections.head()

    def _restore(self) -> None:
        if self.restore_point:
            done = self.store.restore("prod", self.restore_point, provenance=WHO)
            self.bulk["restore"] += len(done.changes) > 1


def test_mirror_equals_current_after_thousands_of_changes(
    store: ConfigStore,
    mirror: RedisMirror,
    redis_conn: redis.Redis,
    redis_url: str,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    subscriber = Subscriber(redis_url, mirror.prefix)
    try:
        history = History(store, seed=11)
        TokenService(store=store).create("ops", role="admin", provenance=WHO)  # not mirrored
        processed = 0
        for head in (700, 1500, 2300, 3000):  # the mirror catches up between bursts
            history.write_until(head)
            processed += mirror.catch_up()
        head = store.projections.head()
        assert processed == head == mirror.position()
        assert mirror.catch_up() == 0
        store.projections.catch_up()
        live = assert_mirror_equals_current(redis_conn, mirror.prefix, db, schema)
        assert live > 30
        assert history.bulk["import"] > 3 and history.bulk["restore"] > 3
        wanted = logged_positions(db, schema)
        assert len(wanted) == head - 1  # every event but the token's
        eventually(lambda: len(subscriber.messages) >= len(wanted), what="every message")
        assert subscriber.positions() == wanted
    finally:
        subscriber.close()
    _check_messages(subscriber.messages)
    texts = redis_texts(redis_conn, mirror.prefix) + repr(subscriber.messages)
    assert len(history.secrets) > 50 and "enc:v2:" in texts
    assert not [s for s in history.secrets if s in texts]


def _check_messages(messages: list[dict[str, Any]]) -> None:
    """Every kind of event was published; deletions carry no value; no system entry."""
    events = {m["event"] for m in messages}
    assert events >= {"created", "replaced", "changed", "deleted", "restored", "rolled_back"}
    deleted = [m for m in messages if m["deleted"]]
    assert deleted and all(m["value"] is None for m in deleted)
    assert not any(m["environment"].startswith("_") for m in messages)
