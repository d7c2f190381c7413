"""Every repair run (not a dry run) is an event of the log: a ``repair_run`` entry of the
system environment, in the audit trail, that ``verify`` does not complain about, also
when nothing was damaged."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL

from domain.address import SYSTEM_ENVIRONMENT, Address
from domain.areas.repair_run import MAX_LISTED, RepairRun
from domain.entry import Provenance
from domain.errors import AreaNotFoundError
from domain.limits import ValueLimits
from domain.values import normalize
from infrastructure.store import ConfigStore
from infrastructure.store.readmodels import AuditQuery
from infrastructure.store.repair import (
    RepairPlan,
    RepairReport,
    list_repairs,
    plan_repair,
    record_repair,
    run_repair,
    split_acknowledged,
)
from infrastructure.store.repair_write import run_value
from projections.audit import AuditRow
from tests.chain_support import KEY_A, key_bytes
from tests.conftest import StoreOpener
from tests.infrastructure.test_repair import ADMIN, ROUTER, _delete_event, _fill, _t

RUNS = AuditQuery(environment=SYSTEM_ENVIRONMENT, area=RepairRun.area_name)


def _run(store: ConfigStore, env: str | None, *, audit_key: bytes | None = None) -> RepairReport:
    report = run_repair(store, plan_repair(store, env), ADMIN, audit_key=audit_key)
    record_repair(store, report, ADMIN)
    return report


def _value(row: AuditRow) -> dict[str, Any]:
    """The value a ``created`` audit row sets, field by field."""
    return {op["path"].lstrip("/"): op["value"] for op in row.changes}


def _problems(store: ConfigStore, **options: Any) -> list[tuple[int | None, str]]:
    kept, _ = split_acknowledged(store, store.verify(None, **options).findings, **options)
    return [(f.position, f.problem) for f in kept]


def test_a_run_on_a_sound_store_records_itself(store: ConfigStore) -> None:
    _fill(store)
    assert store.audit(RUNS) == []
    report = _run(store, "default")
    [row] = store.audit(RUNS)
    assert report.repair_id is not None
    assert (row.environment, row.area, row.key) == ("_system", "repair_run", "1")
    assert (row.event, row.version, row.source) == ("created", 1, "repair")
    assert (row.actor, row.reason, row.correlation_id) == ("admin", "test repair", "r")
    head = list_repairs(store)[0].head
    assert _value(row) == {
        "repair_id": report.repair_id,
        "actor": "admin",
        "reason": "test repair",
        "channel": "cli",
        "scope": "default",
        "head": head,
        "index_rows_fixed": 0,
        "entries_reestablished": 0,
        "entries_removed": 0,
        "entries_left_quarantined": 0,
        "snapshots_dropped": 0,
        "checkpoints_dropped": 0,
        "checkpoints_written": report.checkpoints,
        "quarantine_released": 0,
        "mirror_events": None,
        "acknowledged_breaks": [],
        "acknowledged_break_count": 0,
    }
    assert row.position == head + 1  # appended after the run, at the end of the log
    assert report.event == {"entry": "_system:repair_run/1", "position": row.position}
    assert list_repairs(store)[0].actions["event"] == report.event
    assert store.get(Address(SYSTEM_ENVIRONMENT, "repair_run", "1")).stored == _value(row)
    assert _problems(store) == []
    # The run's event is no damage: the next run finds nothing to do and records itself.
    assert plan_repair(store, None).index == [] and plan_repair(store, None).entries == []
    second = _run(store, None)
    assert [(r.key, _value(r)["scope"]) for r in store.audit(RUNS)] == [
        (str(second.repair_id), "*"),
        ("1", "default"),
    ]
    assert _problems(store) == []


def test_the_run_counts_what_it_did(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store(audit_key=KEY_A) as store:
        _fill(store)
        gone = _delete_event(db, schema, ROUTER, 3)
        assert store.verify(None).quarantined == ["default/router/default"]
        report = _run(store, "default", audit_key=key_bytes(KEY_A))
        [row] = store.audit(RUNS)
        value = _value(row)
        assert value["acknowledged_breaks"] == report.acknowledged == [gone]
        assert value["acknowledged_break_count"] == 1
        assert (value["index_rows_fixed"], value["entries_reestablished"]) == (1, 1)
        assert value["quarantine_released"] == 1
        assert value["checkpoints_written"] == report.checkpoints >= 1
        assert value["checkpoints_dropped"] == report.checkpoints_dropped
        assert _problems(store, audit_key=key_bytes(KEY_A)) == []


def test_a_dry_run_records_nothing(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    _fill(store)
    _delete_event(db, schema, ROUTER, 3)
    head = store.projections.head()
    plan_repair(store, None)  # what a dry run does
    assert store.projections.head() == head
    assert store.audit(RUNS) == [] and list_repairs(store) == []


def test_a_repairs_table_emptied_by_hand_takes_no_run_out_of_the_log(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    _fill(store)
    _run(store, "default")
    db.execute(SQL("TRUNCATE {} RESTART IDENTITY").format(_t(schema, "cc_repairs")))
    again = _run(store, "default")
    assert again.repair_id == 1  # the id is taken in the log: a suffixed key
    assert again.event is not None
    newer, older = store.audit(RUNS)
    assert older.key == "1" and newer.key.startswith("1-") and len(newer.key) == 10
    assert again.event["entry"] == f"_system:repair_run/{newer.key}"
    assert _problems(store) == []


def test_repair_run_is_a_system_area_only(store: ConfigStore) -> None:
    assert "repair_run" not in store.registry
    with pytest.raises(AreaNotFoundError):
        store.registry.get("repair_run")
    assert store.area_model(SYSTEM_ENVIRONMENT, "repair_run") is RepairRun


def test_a_huge_list_of_breaks_is_capped_within_the_smallest_limits() -> None:
    report = RepairReport(RepairPlan(None), dry_run=False, repair_id=7)
    report.acknowledged = list(range(1, 5001))
    who = Provenance(actor="a" * 200, reason="\U0001f527" * 2000, correlation_id="c")
    smallest = ValueLimits(
        max_depth=8, max_value_bytes=4096, max_string_chars=1024, max_key_chars=64, max_members=100
    ).enclosing()
    value = run_value(report, who, 9_000_000_000, max_chars=smallest.max_string_chars)
    assert value["acknowledged_breaks"] == list(range(1, MAX_LISTED + 1))
    assert value["acknowledged_break_count"] == 5000
    stored = normalize(RepairRun, value, key="7", limits=smallest)
    assert stored["reason"] == "\U0001f527" * 1024
    assert stored["acknowledged_break_count"] == 5000


def test_a_long_reason_fits_a_store_with_the_smallest_limits(
    open_test_store: StoreOpener,
) -> None:
    reason = "r" * 2000
    who = ADMIN.model_copy(update={"reason": reason})
    with open_test_store(max_string_chars=1024, max_value_bytes=4096, max_members=100) as store:
        report = run_repair(store, plan_repair(store, None), who)
        record_repair(store, report, who)
        [row] = store.audit(RUNS)
        assert row.reason == reason  # the event's own reason is whole
        assert _value(row)["reason"] == "r" * 1024
