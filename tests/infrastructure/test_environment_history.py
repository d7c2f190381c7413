"""Whole environments over time: as-of exports agree with per-entry reads (checkpoints,
rebuilt checkpoints, pure replay), restore, named snapshots, restore racing writers."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from functools import cache
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.document import parse_document
from domain.errors import ConfigStoreError, NotFoundError, VersionConflictError
from infrastructure.store import ConfigStore, WriteResult
from infrastructure.store.bulk import BulkResult
from infrastructure.store.readmodels import AuditQuery
from tests.conftest import StoreOpener
from tests.infrastructure.test_projections import who

ENVS = ("default", "prod")
ADDRESSES = [
    *(Address(env, "feature_flag", f"f{i}") for env in ENVS for i in range(12)),
    *(Address(env, "provider", name) for env in ENVS for name in ("openai", "groq")),
    *(Address(env, "router", "default") for env in ENVS),
]
Entries = dict[str, dict[str, dict[str, Any]]]


def _value(rng: random.Random, address: Address) -> dict[str, Any]:
    if address.area == "provider":
        key = {"name": "k", "api_key": f"sk-{address.key}-{rng.randrange(4)}"}
        return {"provider_type": "openai", "keys": [key]}
    if address.area == "router":
        return {"max_retries": rng.randrange(11)}
    return {"rollout_percent": rng.randrange(101)}


def _patch(rng: random.Random, address: Address) -> dict[str, Any]:
    name = {"provider": "enabled", "router": "fallbacks_enabled"}.get(address.area, "enabled")
    return {name: rng.random() < 0.5}


def _mixed_env_history(store: ConfigStore, events: int, instants: list[datetime]) -> None:
    """Sets, patches, deletes, undeletes, rollbacks and a few whole-environment restores,
    with ``datetime.now()`` recorded at random moments between writes."""
    rng = random.Random(11)
    instants.append(datetime.now(UTC))
    while store.projections.head() < events:
        address = rng.choice(ADDRESSES)
        try:
            match rng.randrange(9):
                case 0 | 1 | 2:
                    store.set(address, _value(rng, address), provenance=who())
                case 3 | 4:
                    store.patch(address, _patch(rng, address), provenance=who())
                case 5:
                    store.delete(address, provenance=who())
                case 6:
                    store.undelete(address, provenance=who())
                case 7:
                    store.rollback(address, to_version=rng.randrange(1, 5), provenance=who())
                case _ if rng.random() < 0.1 and len(instants) > 2:
                    point = rng.choice(instants[1:])
                    store.restore(address.environment, point, provenance=who("bulk"))
        except ConfigStoreError:
            continue
        if rng.random() < 0.1:
            instants.append(datetime.now(UTC))
    instants.append(datetime.now(UTC))


def _per_entry_as_of(store: ConfigStore, environment: str, instant: datetime) -> Entries:
    found: Entries = {}
    for address in ADDRESSES:
        if address.environment != environment:
            continue
        try:
            view = store.get(address, as_of=instant)
        except NotFoundError:
            continue  # not created yet, or deleted at that time
        found.setdefault(address.area, {})[address.key] = view.stored
    return found


def _per_entry_at_position(store: ConfigStore, environment: str, position: int) -> Entries:
    @cache
    def stored(address: Address, version: int) -> tuple[bool, dict[str, Any]]:
        view = store.get(address, version=version, include_deleted=True)
        return view.deleted, view.stored

    found: Entries = {}
    for address in ADDRESSES:
        if address.environment != environment:
            continue
        try:
            history = store.history(address)
        except NotFoundError:
            continue
        versions = [h.version for h in history if h.position is not None and h.position <= position]
        if versions:
            deleted, value = stored(address, versions[-1])
            if not deleted:
                found.setdefault(address.area, {})[address.key] = value
    return found


def _exports(store: ConfigStore, points: list[Any]) -> list[Entries]:
    return [store.export(env, p, include_secrets=True).entries for env in ENVS for p in points]


def _checkpoint_rows(db: psycopg.Connection[Any], schema: str) -> list[Any]:
    query = SQL(
        "SELECT environment, name, position, recorded_at, entry_count, state FROM {}.cc_checkpoints"
        " ORDER BY environment, position, name NULLS FIRST"
    ).format(Identifier(schema))
    return db.execute(query).fetchall()


def test_as_of_exports_equal_per_entry_reads(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    instants: list[datetime] = []
    # Per-entry snapshots every 3 versions: some are taken of entries a restore resumed.
    with open_test_store(checkpoint_interval=10, snapshot_interval=3) as store:
        _mixed_env_history(store, 300, instants)
        report = store.verify()
        assert (report.findings, report.events) == ([], store.projections.head())
        restored = [store.audit(AuditQuery(environment=env, actor="bulk")) for env in ENVS]
        assert all(len(rows) >= 3 for rows in restored)  # whole-environment restores ran
        assert report.snapshots > 20
        store.create_snapshot("prod", "named", actor="t")
        head = store.projections.head()
        rng = random.Random(3)
        positions = sorted({0, 1, head, *rng.sample(range(head + 1), 20)})
        automatic = store.snapshots("prod", automatic=True)
        assert len([c for c in automatic if c.name is None]) >= 10
        assert len(instants) >= 10
        for env in ENVS:
            for instant in instants:
                export = store.export(env, instant, include_secrets=True)
                assert export.entries == _per_entry_as_of(store, env, instant), instant
            for position in positions:
                export = store.export(env, position, include_secrets=True)
                # A position inside a multi-entry write reads as the end of that write.
                assert export.position >= position
                assert export.entries == _per_entry_at_position(store, env, export.position)
        assert store.export("prod", instants[0]).entries == {}
        assert store.export("prod", 0).entries == {}
        live = _exports(store, [*instants, *positions])
        live_rows = _checkpoint_rows(db, schema)
        assert store.rebuild_projection("checkpoints") == head
        assert _checkpoint_rows(db, schema) == live_rows
        assert _exports(store, [*instants, *positions]) == live
    with open_test_store(checkpoint_interval=1_000_000) as replaying:
        replaying.rebuild_projection("checkpoints")
        remaining = [c.name for env in ENVS for c in replaying.snapshots(env, automatic=True)]
        assert remaining == ["named"]
        assert _exports(replaying, [*instants, *positions]) == live


def _restore_fixture(store: ConfigStore) -> dict[str, Any]:
    """prod with four live entries and one deleted one, marked by time, position and name;
    then changes of every kind after the mark."""
    flag = [Address("prod", "feature_flag", f"f{i}") for i in range(6)]
    router = Address("prod", "router", "default")
    store.set(flag[1], {"enabled": True}, provenance=who())
    store.set(flag[2], {"rollout_percent": 10}, provenance=who())
    store.set(flag[3], {"description": "three"}, provenance=who())
    store.set(flag[4], {"enabled": True}, provenance=who())
    store.delete(flag[4], provenance=who())
    store.set(router, {"max_retries": 2}, provenance=who())
    mark = {
        "time": datetime.now(UTC),
        "position": store.projections.head(),
        "snapshot": store.create_snapshot("prod", "before", actor="t").name,
    }
    store.patch(flag[1], {"enabled": False}, provenance=who())
    store.delete(flag[2], provenance=who())
    store.set(flag[3], {"description": "changed"}, provenance=who())
    store.delete(flag[3], provenance=who())
    store.set(flag[4], {"rollout_percent": 1}, provenance=who())
    store.set(flag[5], {"enabled": True}, provenance=who())
    store.patch(router, {"fallbacks_enabled": True}, provenance=who())
    store.set(Address("default", "feature_flag", "f1"), {"enabled": True}, provenance=who())
    return mark


@pytest.mark.parametrize("kind", ["time", "position", "snapshot"])
def test_restore_then_export_equals_the_earlier_export(store: ConfigStore, kind: str) -> None:
    point = _restore_fixture(store)[kind]
    then = store.export("prod", point, include_secrets=True)
    other_env = store.export("default").entries
    head = store.projections.head()
    assert store.export("prod").entries != then.entries
    plan = store.restore("prod", point, provenance=who("ops"), dry_run=True)
    assert (plan.applied, plan.base_position, plan.position) == (False, head, head)
    assert store.projections.head() == head
    done = store.restore("prod", point, provenance=who("ops"))
    assert done.applied and done.steps == plan.steps
    assert [(s.key, s.action) for s in done.steps] == [
        ("f1", "rollback"),
        ("f2", "undelete"),
        ("f3", "rollback"),
        ("f4", "delete"),
        ("f5", "delete"),
        ("default", "rollback"),
    ]
    assert store.projections.head() == done.position == head + len(done.steps)
    assert store.export("prod", include_secrets=True).entries == then.entries
    assert store.export("default").entries == other_env
    # History is appended to, never rewritten.
    f1 = Address("prod", "feature_flag", "f1")
    assert [h.event for h in store.history(f1)] == ["created", "changed", "rolled_back"]
    assert store.get(f1, version=2).stored == {"enabled": False}
    assert store.get(Address("prod", "feature_flag", "f5"), version=1).stored == {"enabled": True}
    again = store.restore("prod", point, provenance=who("ops"))
    assert (again.applied, again.steps, again.position) == (False, [], done.position)
    assert store.projections.head() == done.position


def test_restore_racing_single_writes_loses_neither(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    for i in range(6):
        address = Address("race", "feature_flag", f"b{i}")
        store.set(address, {"rollout_percent": i}, provenance=who())
    store.create_snapshot("race", "base", actor="t")
    target = store.export("race", "base").entries
    start = store.projections.head()
    writes: list[tuple[WriteResult, dict[str, Any]]] = []
    restores: list[BulkResult] = []
    gave_up: list[VersionConflictError] = []
    writer_done, restored = threading.Event(), threading.Event()

    def writer() -> None:
        # Bursts of writes; between bursts, wait until a restore call has returned, so
        # restores keep starting while a burst is under way.
        for i in range(40):
            address = Address("race", "feature_flag", f"{'bw'[i % 2]}{i % 6}")
            value = {"rollout_percent": 50 + i}
            writes.append((store.set(address, value, provenance=who("w")), value))
            if i % 10 == 9:
                restored.wait(timeout=60)
                restored.clear()
        writer_done.set()

    def restorer() -> None:
        while not writer_done.is_set():
            try:
                restores.append(store.restore("race", "base", provenance=who("r")))
            except VersionConflictError as exc:
                gave_up.append(exc)
            restored.set()

    threads = [threading.Thread(target=writer), threading.Thread(target=restorer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(writes) == 40
    restores.append(store.restore("race", "base", provenance=who("r")))
    for result, value in writes:
        assert result.changed
        assert store.get(result.address, version=result.version).stored == value
        (item,) = [h for h in store.history(result.address) if h.version == result.version]
        assert item.position == result.position
    written = {result.position for result, _ in writes}
    for done in restores:
        if done.applied:
            # Guarded: no other event of the environment between the plan and the save.
            assert not {p for p in written if done.base_position < p <= done.position}
            assert store.export("race", done.position).entries == target
    assert store.export("race").entries == target
    count = SQL("SELECT count(*) FROM {}.cc_event_index WHERE environment = %s AND position > %s")
    (events,) = db.execute(count.format(Identifier(schema)), ("race", start)).fetchone() or (0,)
    assert events == len(writes) + sum(len(r.changes) for r in restores if r.applied)


def test_as_of_inside_a_bulk_write_sees_all_or_nothing_of_it(store: ConfigStore) -> None:
    flags = {f"f{i}": {"rollout_percent": i} for i in range(100)}
    done = store.apply_document(
        parse_document({"entries": {"feature_flag": flags}}), environment="bulk", provenance=who()
    )
    assert len(done.changes) == 100
    recorded = {store.get(Address("bulk", "feature_flag", k)).recorded_at for k in flags}
    times = sorted(t for t in recorded if t is not None)
    assert len(times) == len(recorded)
    seen = {len(store.export("bulk", t).entries.get("feature_flag", {})) for t in times}
    assert seen == {100}
