"""Projections: caught up on read, exactly once, rebuild equals live, migrations idempotent."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import Provenance
from domain.errors import ConfigStoreError
from domain.secrets import REDACTED
from infrastructure.persistence.migrations import LATEST, Migrator
from infrastructure.store import ConfigStore
from infrastructure.store.readmodels import AuditQuery


def who(actor: str = "p") -> Provenance:
    return Provenance(actor=actor, source="api", correlation_id="c")


def _table(db: psycopg.Connection[Any], schema: str, table: str, order: str) -> list[Any]:
    query = SQL("SELECT * FROM {}.{} ORDER BY " + order).format(
        Identifier(schema), Identifier(table)
    )
    return db.execute(query).fetchall()


def _mixed_history(store: ConfigStore, events: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    flags = [Address(rng.choice(["default", "prod"]), "feature_flag", f"f{i}") for i in range(40)]
    while store.projections.head() < events:
        address = rng.choice(flags)
        try:
            match rng.randrange(6):
                case 0 | 1:
                    store.set(address, {"rollout_percent": rng.randrange(101)}, provenance=who())
                case 2:
                    store.patch(address, {"enabled": rng.random() < 0.5}, provenance=who())
                case 3:
                    store.delete(address, provenance=who())
                case 4:
                    store.undelete(address, provenance=who())
                case _:
                    store.rollback(address, to_version=1, provenance=who("ops"))
        except ConfigStoreError:
            continue


def test_reads_reflect_every_write_before_them(store: ConfigStore) -> None:
    flag = Address("default", "feature_flag", "a")
    result = store.set(flag, {"enabled": True}, provenance=who())
    assert [v.value["enabled"] for v in store.list_entries("default")] == [True]
    rows = store.audit(AuditQuery(environment="default"), min_position=result.position)
    assert [(r.position, r.event, r.key) for r in rows] == [(result.position, "created", "a")]
    status = {s.name: s for s in store.projection_status()}
    assert status["current"].lag == 0 and status["audit"].lag == 0
    store.patch(flag, {"enabled": False}, provenance=who())
    lagging = {s.name: s.lag for s in store.projection_status()}
    assert lagging == {"current": 1, "audit": 1, "checkpoints": 2}


def test_rebuild_equals_live_after_thousands_of_events(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    store.projections.batch_size = 97  # many batches, odd boundaries
    _mixed_history(store, 2000)
    store.projections.catch_up()
    live_current = _table(db, schema, "cc_current", "entry_id")
    live_audit = _table(db, schema, "cc_audit", "position")
    assert len(live_audit) == store.projections.head()
    assert store.rebuild_projection("current") == store.projections.head()
    assert store.rebuild_projection("audit") == store.projections.head()
    assert _table(db, schema, "cc_current", "entry_id") == live_current
    assert _table(db, schema, "cc_audit", "position") == live_audit
    for view in store.list_entries("prod"):
        assert view.stored == store.get(view.address).stored


def test_concurrent_catch_ups_process_each_event_once(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    _mixed_history(store, 300, seed=3)
    store.projections.batch_size = 10
    threads = [threading.Thread(target=store.projections.catch_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    positions = [row[0] for row in _table(db, schema, "cc_audit", "position")]
    assert positions == sorted(set(positions))
    assert len(positions) == store.projections.head()


def test_audit_filters_and_paging(store: ConfigStore) -> None:
    a, b = Address("default", "feature_flag", "a"), Address("default", "router", "default")
    store.set(a, {"enabled": True}, provenance=who("alice"))
    middle = datetime.now(UTC)
    store.set(b, {"max_retries": 2}, provenance=who("bob"))
    store.patch(a, {"rollout_percent": 5}, provenance=who("bob"))
    store.set(Address("prod", "feature_flag", "a"), {}, provenance=who("alice"))
    everything = store.audit(AuditQuery(environment="default"))
    assert [(r.area, r.actor) for r in everything] == [
        ("feature_flag", "bob"),
        ("router", "bob"),
        ("feature_flag", "alice"),
    ]
    assert [r.version for r in store.audit(AuditQuery("default", area="feature_flag"))] == [2, 1]
    assert len(store.audit(AuditQuery("default", actor="alice"))) == 1
    assert len(store.audit(AuditQuery("default", since=middle))) == 2
    assert len(store.audit(AuditQuery("default", until=middle))) == 1
    page = store.audit(AuditQuery("default", limit=2))
    rest = store.audit(AuditQuery("default", limit=2, before=page[-1].position))
    assert [r.position for r in page + rest] == [r.position for r in everything]
    assert everything[0].changes == [{"op": "add", "path": "/rollout_percent", "value": 5}]


def test_audit_redacts_secrets(store: ConfigStore) -> None:
    value = {"provider_type": "openai", "keys": [{"name": "k", "api_key": "sk-audit-secret"}]}
    store.set(Address("default", "provider", "openai"), value, provenance=who())
    (row,) = store.audit(AuditQuery("default"))
    (keys_op,) = [op for op in row.changes if op["path"] == "/keys"]
    assert keys_op["value"][0]["api_key"] == REDACTED
    assert "sk-audit-secret" not in str(row)


def test_migrations_are_idempotent(store: ConfigStore, schema: str) -> None:
    migrator = Migrator(url=store.database_url, schema=schema, connect_timeout=5)
    assert migrator.applied() == list(range(1, LATEST + 1))
    assert migrator.apply() == []
    assert migrator.pending() == []
