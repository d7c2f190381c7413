"""The store against a real PostgreSQL: commands, reads at any version/time, history."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from domain.address import Address, InvalidAddressError
from domain.entry import Provenance
from domain.errors import (
    AreaNotFoundError,
    EntryStateError,
    InvalidValueError,
    NotFoundError,
    VersionConflictError,
)
from domain.values import value_hash
from infrastructure.store import ConfigStore
from tests.conftest import StoreOpener

ROUTER = Address("default", "router", "default")
WHO = Provenance(actor="alice", reason="test", source="api", correlation_id="c-1")


def test_set_then_get_fills_defaults_and_keeps_stored_sparse(store: ConfigStore) -> None:
    result = store.set(ROUTER, {"max_retries": 5}, provenance=WHO)
    view = store.get(ROUTER)
    assert (result.version, result.changed) == (1, True)
    assert result.position >= 1
    assert view.stored == {"max_retries": 5}
    assert view.value["max_retries"] == 5
    assert view.value["default_strategy"] == "simple"
    assert view.actor == "alice"
    assert view.position == result.position
    assert view.value_hash == value_hash({"max_retries": 5})


def test_patch_merges_and_null_returns_field_to_default(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 5, "default_strategy": "leastcost"}, provenance=WHO)
    store.patch(ROUTER, {"fallbacks_enabled": True}, provenance=WHO)
    assert store.get(ROUTER).stored == {
        "max_retries": 5,
        "default_strategy": "leastcost",
        "fallbacks_enabled": True,
    }
    result = store.patch(ROUTER, {"max_retries": None}, provenance=WHO)
    view = store.get(ROUTER)
    assert result.version == 3
    assert "max_retries" not in view.stored
    assert view.value["max_retries"] == 3


def test_invalid_value_names_fields_and_appends_nothing(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 5}, provenance=WHO)
    with pytest.raises(InvalidValueError) as caught:
        store.patch(ROUTER, {"max_retries": 99, "bogus": 1}, provenance=WHO)
    fields = {e.field for e in caught.value.errors}
    assert fields == {"max_retries", "bogus"}
    assert store.get(ROUTER).version == 1
    with pytest.raises(InvalidValueError):
        store.set(ROUTER, {"default_strategy": "fastest"}, provenance=WHO)
    assert store.projections.head() == 1


def test_cross_field_rule_on_complete_value(store: ConfigStore) -> None:
    # base delay default 500 > max 100: the rule sees the default, not just stored fields.
    with pytest.raises(InvalidValueError) as caught:
        store.set(ROUTER, {"retry_max_delay_ms": 100}, provenance=WHO)
    assert "retry_base_delay_ms" in str(caught.value)


def test_identical_set_records_nothing(store: ConfigStore) -> None:
    first = store.set(ROUTER, {"max_retries": 4}, provenance=WHO)
    again = store.set(ROUTER, {"max_retries": 4}, provenance=WHO)
    assert again.changed is False
    assert (again.version, again.position) == (first.version, first.position)


def test_expected_version_conflict_reports_current(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    store.set(ROUTER, {"max_retries": 2}, provenance=WHO, expected_version=1)
    with pytest.raises(VersionConflictError) as caught:
        store.set(ROUTER, {"max_retries": 3}, provenance=WHO, expected_version=1)
    assert caught.value.current == 2
    assert store.get(ROUTER).value["max_retries"] == 2


def test_expected_version_zero_means_create_only(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO, expected_version=0)
    with pytest.raises(VersionConflictError):
        store.set(ROUTER, {"max_retries": 2}, provenance=WHO, expected_version=0)


def test_get_at_version_and_missing_version(store: ConfigStore) -> None:
    for retries in (1, 2, 3):
        store.set(ROUTER, {"max_retries": retries}, provenance=WHO)
    assert store.get(ROUTER, version=2).value["max_retries"] == 2
    with pytest.raises(NotFoundError, match="no version 9"):
        store.get(ROUTER, version=9)


def test_as_of_between_two_writes(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    store.set(ROUTER, {"max_retries": 2}, provenance=WHO)
    assert store.get(ROUTER, as_of=between).value["max_retries"] == 1
    assert store.get(ROUTER, as_of=datetime.now(UTC)).value["max_retries"] == 2
    with pytest.raises(NotFoundError, match="did not exist"):
        store.get(ROUTER, as_of=datetime(2000, 1, 1, tzinfo=UTC))


def test_rollback_appends_a_version_equal_to_the_target(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    store.set(ROUTER, {"max_retries": 2, "fallbacks_enabled": True}, provenance=WHO)
    result = store.rollback(ROUTER, to_version=1, provenance=WHO)
    assert result.version == 3
    assert store.get(ROUTER).stored == {"max_retries": 1}
    history = store.history(ROUTER)
    assert [h.event for h in history] == ["created", "replaced", "rolled_back"]
    assert history[-1].target_version == 1
    assert store.get(ROUTER, version=2).stored["max_retries"] == 2


def test_rollback_by_time(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    time.sleep(0.05)
    moment = datetime.now(UTC)
    store.set(ROUTER, {"max_retries": 7}, provenance=WHO)
    store.rollback(ROUTER, to_time=moment, provenance=WHO)
    assert store.get(ROUTER).value["max_retries"] == 1


def test_delete_and_undelete(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 6}, provenance=WHO)
    store.delete(ROUTER, provenance=WHO)
    with pytest.raises(NotFoundError, match="deleted"):
        store.get(ROUTER)
    assert store.list_entries("default") == []
    with pytest.raises(NotFoundError):
        store.delete(ROUTER, provenance=WHO)
    store.undelete(ROUTER, provenance=WHO)
    assert store.get(ROUTER).value["max_retries"] == 6
    with pytest.raises(EntryStateError):
        store.undelete(ROUTER, provenance=WHO)


def test_set_recreates_a_deleted_entry(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 6}, provenance=WHO)
    store.delete(ROUTER, provenance=WHO)
    store.set(ROUTER, {"max_retries": 6}, provenance=WHO)
    assert store.get(ROUTER).version == 3


def test_history_changes_are_rfc6902(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    store.patch(ROUTER, {"max_retries": 2}, provenance=WHO)
    store.delete(ROUTER, provenance=WHO)
    items = store.history(ROUTER)
    assert items[0].changes == [{"op": "add", "path": "/max_retries", "value": 1}]
    assert items[1].changes == [{"op": "replace", "path": "/max_retries", "value": 2}]
    assert items[2].changes == []
    assert [i.position for i in items] == sorted(i.position or 0 for i in items)
    assert store.history(ROUTER, limit=2)[0].version == 2


def test_diff_between_versions_and_times(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    store.set(ROUTER, {"max_retries": 2, "default_strategy": "random"}, provenance=WHO)
    ops = store.diff(ROUTER, 1, 2)
    assert {"op": "replace", "path": "/max_retries", "value": 2} in ops
    assert {"op": "add", "path": "/default_strategy", "value": "random"} in ops
    assert store.diff(ROUTER, 2, datetime.now(UTC)) == []


def test_list_entries_of_an_environment(store: ConfigStore) -> None:
    store.set(ROUTER, {}, provenance=WHO)
    store.set(Address("default", "feature_flag", "beta"), {"enabled": True}, provenance=WHO)
    store.set(Address("staging", "feature_flag", "beta"), {"enabled": False}, provenance=WHO)
    listed = [(v.address.area, v.address.key) for v in store.list_entries("default")]
    assert listed == [("feature_flag", "beta"), ("router", "default")]
    staging = store.list_entries("staging", "feature_flag")
    assert [v.value["enabled"] for v in staging] == [False]


def test_environments_are_separate_entries(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    with pytest.raises(NotFoundError):
        store.get(Address("production", "router", "default"))


def test_bad_addresses(store: ConfigStore) -> None:
    with pytest.raises(AreaNotFoundError):
        store.set(Address("default", "nope", "x"), {}, provenance=WHO)
    with pytest.raises(InvalidAddressError):
        store.set(Address("default", "router", "other"), {}, provenance=WHO)
    with pytest.raises(InvalidAddressError):
        Address("default", "router", "bad key!")


def test_snapshots_are_taken_and_reads_agree(open_test_store: StoreOpener) -> None:
    with open_test_store(snapshot_interval=5) as snap_store:
        for retries in range(12):
            snap_store.set(ROUTER, {"max_retries": retries % 10}, provenance=WHO)
        snapshots = list(snap_store.app.snapshots.get(ROUTER.entry_id))
        assert [s.originator_version for s in snapshots] == [5, 10]
        for version in range(1, 13):
            assert snap_store.get(ROUTER, version=version).stored == {
                "max_retries": (version - 1) % 10
            }
