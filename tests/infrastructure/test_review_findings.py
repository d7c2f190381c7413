"""Regression tests of an adversarial review of issue 13 (hostile input and faults)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.address import Address
from domain.entry import Provenance
from domain.errors import InvalidValueError
from infrastructure.store import ConfigStore
from tests.conftest import StoreOpener

WHO = Provenance(actor="mallory", reason=None, source="api", correlation_id="c-1")
KEY_HASH = "d" * 64


def _value_at_byte_limit() -> dict[str, Any]:
    meta = {f"s{i}": "y" * 65_536 for i in range(3)}
    empty = {"key_hash": KEY_HASH, "metadata": {**meta, "s3": ""}}
    meta["s3"] = "y" * (262_144 - len(json.dumps(empty, separators=(",", ":"))))
    return {"key_hash": KEY_HASH, "metadata": meta}


def _patch(extra: int, nulls: int) -> dict[str, Any]:
    # A merge patch may be larger than its result: nulls of absent members vanish.
    patch = _value_at_byte_limit()
    for i in range(nulls):
        patch[f"n{i:03d}" + "z" * 252] = None
    patch["fine" + "z" * extra] = None
    return patch


def _schedule_at_edge(store: ConfigStore, target: Address, due: datetime) -> str:
    """The largest patch the store accepts to schedule (its record is at the limit)."""
    for nulls in range(80, 0, -1):
        for extra in range(252, -1, -4):
            try:
                view = store.schedule_change(
                    target, "patch", _patch(extra, nulls), due_at=due, provenance=WHO
                )
            except InvalidValueError:
                continue
            return view.id
    raise AssertionError("no patch was accepted")


def test_a_change_scheduled_at_the_size_limit_neither_jams_the_others_nor_resists_cancel(
    store: ConfigStore,
) -> None:
    # Applying or cancelling a change adds its status and result to its record: a record
    # at the limit was refused then, every later due change stayed pending for ever and
    # the change itself could not be cancelled.
    jam = Address("jam", "virtual_key", "jam")
    store.set(jam, {"key_hash": KEY_HASH}, provenance=WHO)
    due = datetime.now(UTC) + timedelta(seconds=60)
    edge = _schedule_at_edge(store, jam, due)
    other = Address("victim", "feature_flag", "f")
    victim = store.schedule_change(
        other, "set", {"enabled": True}, due_at=due + timedelta(seconds=1), provenance=WHO
    )
    ended = store.apply_due_changes(now=due + timedelta(seconds=2))
    assert {v.id: v.status for v in ended} == {edge: "applied", victim.id: "applied"}
    assert store.get(other).value["enabled"] is True

    later = datetime.now(UTC) + timedelta(seconds=120)
    second = _schedule_at_edge(store, jam, later)
    cancelled = store.cancel_scheduled(second, provenance=WHO)
    assert (cancelled.status, cancelled.result) == ("cancelled", "cancelled by mallory")


def test_scheduled_changes_stay_listable_and_cancellable_after_the_limits_shrink(
    open_test_store: StoreOpener,
) -> None:
    deep: Any = "x"
    for _ in range(20):
        deep = {"a": deep}
    target = Address("prod", "virtual_key", "deep")
    due = datetime.now(UTC) + timedelta(seconds=60)
    with open_test_store() as store:
        view = store.schedule_change(
            target, "set", {"key_hash": KEY_HASH, "metadata": deep}, due_at=due, provenance=WHO
        )
        fine = store.schedule_change(
            Address("prod", "feature_flag", "f"),
            "set",
            {"enabled": True},
            due_at=due,
            provenance=WHO,
        )
    with open_test_store(max_value_depth=8) as store:
        assert {v.id for v in store.scheduled_changes("prod")} == {view.id, fine.id}
        ended = store.apply_due_changes(now=due + timedelta(seconds=1))
        statuses = {v.id: v.status for v in ended}
        assert statuses == {view.id: "failed", fine.id: "applied"}
        assert "nested deeper than 8 levels" in (
            ended[0].result if ended[0].id == view.id else ended[1].result or ""
        )
