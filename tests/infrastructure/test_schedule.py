"""Scheduled changes on real PostgreSQL: applied once when due (never before), never
when cancelled, exactly once across instances, failures recorded, secrets sealed."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from domain.address import SYSTEM_ENVIRONMENT, Address, InvalidAddressError
from domain.entry import Provenance
from domain.errors import (
    AreaNotFoundError,
    EntryStateError,
    InvalidValueError,
    NotFoundError,
)
from domain.secrets import REDACTED, is_sealed
from infrastructure.crypto import generate_key
from infrastructure.presenters import scheduled_json
from infrastructure.store import ConfigStore
from infrastructure.store.readmodels import AuditQuery
from infrastructure.store.views import ScheduledView
from tests.conftest import StoreOpener, dump_schema

ROUTER = Address("prod", "router", "default")
OPENAI = Address("prod", "provider", "openai")
WHO = Provenance(actor="alice", reason="night switch", source="cli", correlation_id="c-1")
PLAIN = "sk-live-scheduled-never-at-rest-77"


def later(seconds: float = 60) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def events_of(store: ConfigStore, address: Address) -> int:
    return store.index.latest_version(address.entry_id) or 0


def schedule(
    store: ConfigStore, address: Address, operation: str, value: Any, **kwargs: Any
) -> ScheduledView:
    due = kwargs.pop("due_at", None) or later()
    return store.schedule_change(address, operation, value, due_at=due, provenance=WHO, **kwargs)


def test_scheduled_set_applies_once_when_due_and_not_before(store: ConfigStore) -> None:
    view = schedule(store, ROUTER, "set", {"max_retries": 5})
    assert view.id.startswith("sch-") and view.status == "pending"
    assert store.apply_due_changes() == []
    assert events_of(store, ROUTER) == 0
    applied = store.apply_due_changes(now=view.change.due_at)
    assert [(v.id, v.status, v.change.applied_version) for v in applied] == [
        (view.id, "applied", 1)
    ]
    entry = store.get(ROUTER)
    assert (entry.version, entry.value["max_retries"], entry.actor) == (1, 5, "alice")
    assert applied[0].applied_position == entry.position
    [item] = store.history(ROUTER)
    assert (item.source, item.actor, item.correlation_id) == ("scheduler", "alice", view.id)
    assert item.reason == f"scheduled change {view.id}: night switch"
    [row] = store.audit(AuditQuery(environment="prod"))
    assert (row.source, row.actor, row.key) == ("scheduler", "alice", "default")
    assert store.apply_due_changes(now=later(3600)) == []
    assert events_of(store, ROUTER) == 1
    assert store.scheduled_changes("prod") == []
    [done] = store.scheduled_changes("prod", include_done=True)
    assert (done.status, done.result) == ("applied", "set applied: router/default is at version 1")


def test_patch_and_delete_apply_in_due_order(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    delete = schedule(store, ROUTER, "delete", None, due_at=later(120))
    patch = schedule(store, ROUTER, "patch", {"max_retries": 2}, due_at=later(60))
    assert [v.id for v in store.scheduled_changes("prod")] == [patch.id, delete.id]
    ended = store.apply_due_changes(now=later(3600))
    assert [(v.id, v.status) for v in ended] == [(patch.id, "applied"), (delete.id, "applied")]
    history = store.history(ROUTER)
    assert [(h.event, h.source) for h in history] == [
        ("created", "cli"),
        ("changed", "scheduler"),
        ("deleted", "scheduler"),
    ]


def test_a_cancelled_change_never_applies(store: ConfigStore) -> None:
    view = schedule(store, ROUTER, "set", {"max_retries": 5})
    bob = Provenance(actor="bob", reason="not tonight", source="api", correlation_id="c-2")
    cancelled = store.cancel_scheduled(view.id, provenance=bob)
    assert (cancelled.status, cancelled.result) == ("cancelled", "cancelled by bob: not tonight")
    assert store.apply_due_changes(now=later(3600)) == []
    assert events_of(store, ROUTER) == 0
    with pytest.raises(EntryStateError, match="cancelled"):
        store.cancel_scheduled(view.id, provenance=bob)
    with pytest.raises(NotFoundError):
        store.cancel_scheduled("sch-000000000000", provenance=bob)
    with pytest.raises(NotFoundError):
        store.cancel_scheduled("not-an-id", provenance=bob)
    with pytest.raises(NotFoundError):
        store.cancel_scheduled(view.id, provenance=bob, environment="staging")
    assert [v.status for v in store.scheduled_changes("prod", include_done=True)] == ["cancelled"]


def test_an_applied_change_cannot_be_cancelled(store: ConfigStore) -> None:
    view = schedule(store, ROUTER, "set", {"max_retries": 5})
    store.apply_due_changes(now=later(3600))
    with pytest.raises(EntryStateError, match="applied"):
        store.cancel_scheduled(view.id, provenance=WHO)


def test_two_instances_apply_each_change_exactly_once(open_test_store: StoreOpener) -> None:
    counter = Address("prod", "global_setting", "counter")
    flags = [Address("prod", "feature_flag", f"f{i}") for i in range(8)]
    with open_test_store() as first, open_test_store() as second:
        first.set(counter, {"value": "0"}, provenance=WHO)
        ids = [schedule(first, counter, "set", {"value": str(i)}).id for i in range(1, 9)]
        ids += [schedule(second, flag, "set", {"enabled": True}).id for flag in flags]
        outcomes: Counter[str] = Counter()
        start = threading.Barrier(4)

        def run(store: ConfigStore) -> None:
            start.wait()
            for _ in range(3):
                for view in store.apply_due_changes(now=later(3600)):
                    outcomes[f"{view.id}:{view.status}"] += 1

        threads = [threading.Thread(target=run, args=(s,)) for s in (first, second) * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert outcomes == Counter({f"{i}:applied": 1 for i in ids})
        assert events_of(first, counter) == 1 + 8
        assert all(events_of(first, flag) == 1 for flag in flags)
        done = first.scheduled_changes(include_done=True)
        assert {v.id: v.version for v in done} == dict.fromkeys(ids, 2)


def test_invalid_value_at_scheduling_appends_nothing(store: ConfigStore) -> None:
    head = store.index.head()
    cases: list[tuple[Address, str, Any, dict[str, Any], type[Exception], str]] = [
        (ROUTER, "set", {"max_retries": 99}, {}, InvalidValueError, "max_retries"),
        (ROUTER, "set", {"nope": 1}, {}, InvalidValueError, "nope"),
        (ROUTER, "patch", "x", {}, InvalidValueError, "patch"),
        (ROUTER, "delete", {"a": 1}, {}, InvalidValueError, "value"),
        (ROUTER, "rename", {}, {}, InvalidValueError, "operation"),
        (ROUTER, "set", {}, {"due_at": later(-1)}, InvalidValueError, "at"),
        (ROUTER, "set", {}, {"due_at": datetime(2099, 1, 1)}, InvalidValueError, "at"),
        (ROUTER, "set", {}, {"expected_version": -1}, InvalidValueError, "expected_version"),
        (Address("prod", "nope", "x"), "set", {}, {}, AreaNotFoundError, "nope"),
        (Address("prod", "router", "x"), "set", {}, {}, InvalidAddressError, "singleton"),
        (Address(SYSTEM_ENVIRONMENT, "access_token", "x"), "delete", None, {}, Exception, "system"),
    ]
    for address, operation, value, kwargs, error, fragment in cases:
        with pytest.raises(error) as info:
            schedule(store, address, operation, value, **kwargs)
        if isinstance(info.value, InvalidValueError):
            assert fragment in [e.field for e in info.value.errors], info.value
        else:
            assert fragment in str(info.value)
    assert store.index.head() == head
    assert store.scheduled_changes(include_done=True) == []


def test_changes_that_cannot_apply_are_marked_failed_once(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    gone = Address("prod", "feature_flag", "gone")
    store.set(gone, {"enabled": True}, provenance=WHO)
    stale = schedule(store, ROUTER, "set", {"max_retries": 2}, expected_version=1)
    invalid = schedule(store, ROUTER, "patch", {"retry_base_delay_ms": 5000}, due_at=later(61))
    deleted = schedule(store, gone, "patch", {"enabled": False})
    store.set(ROUTER, {"max_retries": 3, "retry_max_delay_ms": 1000}, provenance=WHO)
    store.delete(gone, provenance=WHO)
    head = store.index.head()
    ended = {v.id: v for v in store.apply_due_changes(now=later(3600))}
    assert {i: v.status for i, v in ended.items()} == {
        stale.id: "failed",
        invalid.id: "failed",
        deleted.id: "failed",
    }
    assert "expected version 1" in (ended[stale.id].result or "")
    assert "retry_base_delay_ms" in (ended[invalid.id].result or "")
    assert "deleted" in (ended[deleted.id].result or "")
    assert store.index.head() == head + 3  # only the three status changes
    assert store.get(ROUTER).version == 2
    assert store.apply_due_changes(now=later(7200)) == []
    assert store.index.head() == head + 3


def test_a_set_that_changes_nothing_is_applied_without_an_event(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 4}, provenance=WHO)
    view = schedule(store, ROUTER, "set", {"max_retries": 4})
    [ended] = store.apply_due_changes(now=later(3600))
    assert (ended.status, ended.change.applied_version) == ("applied", 1)
    assert ended.result == "no change needed: router/default is at version 1"
    assert ended.applied_position == store.get(ROUTER).position
    assert view.id == ended.id and events_of(store, ROUTER) == 1


def test_secrets_are_sealed_at_rest_and_redacted_when_listed(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": PLAIN}]}
    store.set(OPENAI, {**value, "keys": [{"name": "main", "api_key": "sk-old"}]}, provenance=WHO)
    view = schedule(store, OPENAI, "set", value)
    assert is_sealed(view.change.value["keys"][0]["api_key"])  # type: ignore[index]
    patch = {"keys": [{"name": "main", "api_key": PLAIN + "-2"}]}
    schedule(store, OPENAI, "patch", patch, due_at=later(90))
    shown = [
        scheduled_json(v, store.secret_schema("prod", v.change.area))
        for v in store.scheduled_changes("prod")
    ]
    assert [s["value"]["keys"][0]["api_key"] for s in shown] == [REDACTED, REDACTED]
    assert PLAIN not in dump_schema(db, schema)
    store.apply_due_changes(now=later(3600))
    assert (
        store.revealed(store.get(OPENAI).value, "prod", "provider")["keys"][0]["api_key"]
        == PLAIN + "-2"
    )
    assert PLAIN not in dump_schema(db, schema)


def test_a_kept_secret_means_the_one_stored_when_the_change_applies(store: ConfigStore) -> None:
    def provider(api_key: str) -> dict[str, Any]:
        return {"provider_type": "openai", "keys": [{"name": "main", "api_key": api_key}]}

    store.set(OPENAI, provider("sk-old-compromised"), provenance=WHO)
    view = schedule(store, OPENAI, "set", {**provider(REDACTED), "enabled": False})
    assert view.change.value["keys"][0]["api_key"] == REDACTED  # type: ignore[index]
    store.set(OPENAI, provider("sk-new-rotated"), provenance=WHO)
    [ended] = store.apply_due_changes(now=later(3600))
    assert ended.status == "applied"
    value = store.revealed(store.get(OPENAI).value, "prod", "provider")
    assert (value["keys"][0]["api_key"], value["enabled"]) == ("sk-new-rotated", False)


def test_a_kept_secret_is_not_applied_by_a_process_whose_key_the_store_does_not_know(
    store: ConfigStore, open_test_store: StoreOpener
) -> None:
    """As a direct write keeping ``********`` is refused under such a key (test_keys), so
    is a scheduled one: it fails, its target untouched (it used to be applied)."""
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": PLAIN}]}
    store.set(OPENAI, value, provenance=WHO)
    kept = {"provider_type": "openai", "keys": [{"name": "main", "api_key": REDACTED}]}
    view = schedule(store, OPENAI, "patch", {**kept, "enabled": False})
    with open_test_store(secret_key=generate_key()) as wrong:
        [ended] = wrong.apply_due_changes(now=later(3600))
    assert (ended.id, ended.status) == (view.id, "failed")
    assert "is new to this store" in (ended.result or "")
    assert events_of(store, OPENAI) == 1


def test_listing_filters_by_environment_and_limits_apply(store: ConfigStore) -> None:
    staging = Address("staging", "router", "default")
    late = schedule(store, ROUTER, "set", {"max_retries": 1}, due_at=later(300))
    early = schedule(store, staging, "set", {"max_retries": 2}, due_at=later(60))
    assert [v.id for v in store.scheduled_changes("prod")] == [late.id]
    assert [v.id for v in store.scheduled_changes()] == [early.id, late.id]
    assert store.scheduled(late.id, environment="prod") == late
    with pytest.raises(NotFoundError):
        store.scheduled(late.id, environment="staging")
    assert [v.id for v in store.apply_due_changes(now=later(3600), limit=1)] == [early.id]
    assert [v.id for v in store.apply_due_changes(now=later(3600))] == [late.id]
