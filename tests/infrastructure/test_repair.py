"""``repair``: each kind of damage done with SQL, a dry run that changes nothing, then a
repair after which reads work, history keeps the gap and verify is clean for the entry."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import Provenance
from domain.errors import ConfigStoreError
from infrastructure.store import ConfigStore
from infrastructure.store.repair import (
    acknowledged_breaks,
    list_repairs,
    plan_repair,
    record_repair,
    run_repair,
    split_acknowledged,
)
from tests.conftest import StoreOpener

ROUTER = Address("default", "router", "default")
FLAG = Address("default", "feature_flag", "f")
OTHER = Address("staging", "feature_flag", "g")
WHO = Provenance(actor="t", correlation_id="t")
ADMIN = Provenance(actor="admin", reason="test repair", source="cli", correlation_id="r")
TABLES = (
    "conduitconfig_events",
    "conduitconfig_snapshots",
    "cc_event_index",
    "cc_current",
    "cc_audit",
    "cc_checkpoints",
    "cc_repairs",
)


def _fill(store: ConfigStore) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)  # v1
    store.patch(ROUTER, {"max_retries": 2}, provenance=WHO)  # v2
    store.patch(ROUTER, {"fallbacks_enabled": True}, provenance=WHO)  # v3
    store.patch(ROUTER, {"max_retries": 4}, provenance=WHO)  # v4 (needs v3 to replay)
    store.set(FLAG, {"enabled": True}, provenance=WHO)
    store.set(OTHER, {"enabled": False}, provenance=WHO)
    store.list_entries("default")  # projections caught up


def _t(schema: str, table: str) -> SQL:
    return SQL("{}.{}").format(Identifier(schema), Identifier(table))  # type: ignore[return-value]


def _counts(db: psycopg.Connection[Any], schema: str) -> dict[str, Any]:
    found = {}
    for table in TABLES:
        found[table] = db.execute(
            SQL("SELECT count(*) FROM {}").format(_t(schema, table))
        ).fetchone()
    return found


def _event_position(
    db: psycopg.Connection[Any], schema: str, address: Address, version: int
) -> int:
    row = db.execute(
        SQL(
            "SELECT notification_id FROM {} WHERE originator_id = %s AND originator_version = %s"
        ).format(_t(schema, "conduitconfig_events")),
        (address.entry_id, version),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _delete_event(db: psycopg.Connection[Any], schema: str, address: Address, version: int) -> int:
    position = _event_position(db, schema, address, version)
    db.execute(
        SQL("DELETE FROM {} WHERE notification_id = %s").format(_t(schema, "conduitconfig_events")),
        (position,),
    )
    return position


def _repair(store: ConfigStore, db: psycopg.Connection[Any], schema: str, env: str | None) -> Any:
    before = _counts(db, schema)
    plan = plan_repair(store, env)
    assert _counts(db, schema) == before  # planning (the dry run) changes nothing
    report = run_repair(store, plan, ADMIN)
    record_repair(store, report, ADMIN)
    return report


def _projections_match_rebuild(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    def rows() -> list[Any]:
        current = db.execute(
            SQL("SELECT entry_id, stored, version, position, deleted FROM {} ORDER BY 1").format(
                _t(schema, "cc_current")
            )
        ).fetchall()
        audit = db.execute(
            SQL("SELECT * FROM {} ORDER BY position").format(_t(schema, "cc_audit"))
        ).fetchall()
        return [current, audit]

    now = rows()
    store.rebuild_projection("current")
    store.rebuild_projection("audit")
    assert rows() == now


def _entry_findings(store: ConfigStore, label: str) -> list[Any]:
    """What verify still reports of an entry (chain breaks a repair acknowledged apart)."""
    kept, _ = split_acknowledged(store, store.verify(None).findings)
    return [f for f in kept if f.entry == label]


def test_middle_event_deleted(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        _fill(store)
        _delete_event(db, schema, ROUTER, 3)
        with pytest.raises(ConfigStoreError):
            store.get(ROUTER)
        plan = plan_repair(store, "default")
        [damage] = plan.entries
        assert (damage.action, damage.latest) == ("reestablish", 4)
        assert damage.damage == "version 3 missing; version 4 does not replay to its hash"
        report = _repair(store, db, schema, "default")
        [appended] = report.appended
        assert (appended.version, appended.target_version) == (5, 2)
        assert appended.reason == (
            "version 3 missing; version 4 does not replay to its hash;"
            " re-established from version 2 (test repair)"
        )
        view = store.get(ROUTER)
        assert (view.version, view.stored) == (5, {"max_retries": 2})
        history = store.history(ROUTER)
        assert [h.version for h in history] == [1, 2, 4, 5]
        assert (history[-1].event, history[-1].source) == ("reestablished", "repair")
        assert _entry_findings(store, "default:router/default") == []
        listed = {e.address: e for e in store.list_entries("default")}
        assert (listed[ROUTER].version, listed[ROUTER].stored) == (view.version, view.stored)
        _projections_match_rebuild(store, db, schema)
        assert list_repairs(store)[0].actor == "admin"
        # A second run finds nothing more to re-establish.
        assert plan_repair(store, None).appends == []


def test_last_event_deleted(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        _fill(store)
        position = _delete_event(db, schema, ROUTER, 4)
        plan = plan_repair(store, "default")
        assert [(e.damage, e.latest) for e in plan.entries] == [("version 4 missing", 4)]
        assert [(f.position, f.kind) for f in plan.index] == [(position, "extra")]
        report = _repair(store, db, schema, "default")
        assert [(a.version, a.target_version) for a in report.appended] == [(5, 3)]
        view = store.get(ROUTER)
        assert (view.version, view.stored) == (5, {"max_retries": 2, "fallbacks_enabled": True})
        assert [h.version for h in store.history(ROUTER)] == [1, 2, 3, 5]
        assert position in acknowledged_breaks(store)
        _projections_match_rebuild(store, db, schema)


def test_only_event_deleted(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        _fill(store)
        _delete_event(db, schema, FLAG, 1)
        plan = plan_repair(store, "default")
        assert [(e.label, e.action) for e in plan.entries] == [("default:feature_flag/f", "remove")]
        report = _repair(store, db, schema, "default")
        assert report.appended == []
        assert FLAG not in [e.address for e in store.list_entries("default")]
        assert _entry_findings(store, "default:feature_flag/f") == []
        _projections_match_rebuild(store, db, schema)


def test_corrupt_event_state(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        _fill(store)
        position = _event_position(db, schema, ROUTER, 4)
        db.execute(
            SQL("UPDATE {} SET state = %s WHERE notification_id = %s").format(
                _t(schema, "conduitconfig_events")
            ),
            (orjson.dumps([1, 2]), position),
        )
        report = _repair(store, db, schema, None)
        assert [(a.version, a.target_version) for a in report.appended] == [(5, 3)]
        assert "version 4 does not decode" in report.appended[0].reason
        assert store.get(ROUTER).stored == {"max_retries": 2, "fallbacks_enabled": True}
        assert _entry_findings(store, "default:router/default") == []


def test_index_and_projection_damage(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        _fill(store)
        index = _t(schema, "cc_event_index")
        gone = _event_position(db, schema, ROUTER, 2)
        altered = _event_position(db, schema, OTHER, 1)
        db.execute(SQL("DELETE FROM {} WHERE position = %s").format(index), (gone,))
        db.execute(
            SQL("UPDATE {} SET event_type = 'X' WHERE position = %s").format(index), (altered,)
        )
        db.execute(SQL("UPDATE {} SET stored = '{{}}'::jsonb").format(_t(schema, "cc_current")))
        db.execute(SQL("DELETE FROM {}").format(_t(schema, "cc_checkpoints")))
        assert store.verify(None).quarantined == ["default/router/default"]
        plan = plan_repair(store, None)
        assert sorted((f.position, f.kind) for f in plan.index) == [
            (gone, "missing"),
            (altered, "wrong"),
        ]
        assert plan.appends == []
        report = _repair(store, db, schema, None)
        assert report.appended == []
        assert plan_repair(store, None).index == []
        whole = {"max_retries": 4, "fallbacks_enabled": True}
        assert store.get(ROUTER).stored == whole
        assert {e.address: e.stored for e in store.list_entries("default")}[ROUTER] == whole
        assert report.checkpoints >= 1
        _projections_match_rebuild(store, db, schema)
