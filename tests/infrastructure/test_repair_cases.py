"""``repair`` on more kinds of damage: a snapshot newer than the intact events, a deleted
state, an index row moved to another environment, the scope of ``--env``, named snapshots
covering damage, quarantine released, and ``POST /v1/repair``."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest
from psycopg.sql import SQL

from domain.errors import NotFoundError
from infrastructure.store import ConfigStore
from infrastructure.store.repair import plan_repair, record_repair, run_repair
from tests.conftest import StoreOpener
from tests.infrastructure.test_repair import (
    ADMIN,
    OTHER,
    ROUTER,
    WHO,
    _counts,
    _delete_event,
    _entry_findings,
    _fill,
    _projections_match_rebuild,
    _t,
)


def _run(store: ConfigStore, env: str | None) -> Any:
    report = run_repair(store, plan_repair(store, env), ADMIN)
    record_repair(store, report, ADMIN)
    return report


def test_newer_snapshot_that_agrees_is_used(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store(snapshot_interval=2) as store:
        _fill(store)
        _delete_event(db, schema, ROUTER, 3)
        [damage] = plan_repair(store, "default").entries
        assert damage.proven is not None
        assert damage.proven.source == "the snapshot at version 4"
        report = _run(store, "default")
        assert [(a.version, a.target_version) for a in report.appended] == [(5, 4)]
        assert store.get(ROUTER).stored == {"max_retries": 4, "fallbacks_enabled": True}
        assert _entry_findings(store, "default:router/default") == []


def test_deleted_state_is_reestablished_deleted(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
        store.delete(ROUTER, provenance=WHO)
        store.undelete(ROUTER, provenance=WHO)
        _delete_event(db, schema, ROUTER, 3)
        report = _run(store, "default")
        [appended] = report.appended
        assert (appended.version, appended.target_version, appended.deleted) == (4, 2, True)
        with pytest.raises(NotFoundError, match="deleted"):
            store.get(ROUTER)
        assert store.get(ROUTER, include_deleted=True).stored == {"max_retries": 1}
        assert ROUTER not in [e.address for e in store.list_entries("default")]
        store.undelete(ROUTER, provenance=WHO)  # writes work again
        assert store.get(ROUTER).version == 5


def test_index_row_moved_to_another_environment(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        _fill(store)
        db.execute(
            SQL("UPDATE {} SET environment = 'staging' WHERE entry_id = %s").format(
                _t(schema, "cc_event_index")
            ),
            (ROUTER.entry_id,),
        )
        plan = plan_repair(store, None)
        assert {f.kind for f in plan.index} == {"wrong"}
        assert all("environment" in f.detail for f in plan.index)
        _run(store, None)
        assert plan_repair(store, None).index == []
        assert ROUTER in [e.address for e in store.list_entries("default")]
        assert store.list_entries("staging") == store.list_entries("staging")
        _projections_match_rebuild(store, db, schema)


def test_env_scope_and_named_snapshots(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        _fill(store)
        store.patch(OTHER, {"enabled": True}, provenance=WHO)
        store.create_snapshot("default", "before", actor="t")
        position = _delete_event(db, schema, ROUTER, 3)
        _delete_event(db, schema, OTHER, 1)
        plan = plan_repair(store, "default")
        assert [e.label for e in plan.entries] == ["default:router/default"]
        assert [(s.name, s.damaged_from) for s in plan.snapshots] == [("before", position)]
        staging = plan_repair(store, "staging")
        assert [e.label for e in staging.entries] == ["staging:feature_flag/g"]
        report = _run(store, "default")
        assert len(report.appended) == 1
        assert store.snapshot("default", "before").name == "before"  # kept
        assert [e.label for e in plan_repair(store, None).entries] == ["staging:feature_flag/g"]


def test_quarantine_is_released(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        _fill(store)
        _delete_event(db, schema, ROUTER, 3)
        with pytest.raises(Exception, match="broken"):
            store.get(ROUTER)
        assert [q.key for q in store.quarantined("default")] == ["default"]
        _run(store, "default")
        assert store.quarantined("default") == []
        before = _counts(db, schema)
        assert plan_repair(store, None).entries == []
        assert _counts(db, schema) == before


def test_rewritten_value_later_overwritten(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store() as store:
        _fill(store)
        events = _t(schema, "conduitconfig_events")
        row = db.execute(
            SQL("SELECT state FROM {} WHERE originator_id = %s AND originator_version = 1").format(
                events
            ),
            (ROUTER.entry_id,),
        ).fetchone()
        assert row is not None
        state = orjson.loads(row[0])
        state["value"]["max_retries"] = 9
        db.execute(
            SQL(
                "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = 1"
            ).format(events),
            (orjson.dumps(state), ROUTER.entry_id),
        )
        [damage] = plan_repair(store, "default").entries
        assert damage.damage == "version 1 does not replay to its hash"
        report = _run(store, "default")
        # Version 2's patch overwrote the rewritten field: its hash proves versions 2-4.
        assert [(a.version, a.target_version) for a in report.appended] == [(5, 4)]
        assert store.get(ROUTER).stored == {"max_retries": 4, "fallbacks_enabled": True}
        assert _entry_findings(store, "default:router/default") == []
