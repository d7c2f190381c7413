"""Attacks on the log's promise by someone with write access to the database: each found
by an adversarial review, each kept here so it stays found."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest
from psycopg.sql import SQL

from domain.address import Address
from domain.entry import Provenance
from domain.errors import BrokenLogError
from infrastructure.store import ConfigStore
from infrastructure.store.repair import plan_repair, record_repair, run_repair
from tests.conftest import StoreOpener
from tests.integrity_support import Tables

FLAG = Address("default", "feature_flag", "f")
WHO = Provenance(actor="t", correlation_id="t")
ADMIN = Provenance(actor="admin", reason="attack review", source="cli", correlation_id="r")


@pytest.fixture
def tables(db: psycopg.Connection[Any], schema: str) -> Tables:
    return Tables(db, schema)


def _edit_state(tables: Tables, address: Address, version: int, old: bytes, new: bytes) -> None:
    """Replace ``old`` by ``new`` in the stored state of one event (its hash untouched)."""
    position = tables.position(address, version)
    row = tables.db.execute(
        SQL("SELECT state FROM {} WHERE notification_id = %s").format(
            tables.t("conduitconfig_events")
        ),
        (position,),
    ).fetchone()
    assert row is not None and old in bytes(row[0])
    tables.set_state(address, version, bytes(row[0]).replace(old, new))


def _snapshot_value(tables: Tables, address: Address, value: dict[str, Any]) -> None:
    """Rewrite the value the entry's snapshot holds (its recorded hash untouched)."""
    table = tables.t("conduitconfig_snapshots")
    row = tables.db.execute(
        SQL("SELECT originator_version, state FROM {} WHERE originator_id = %s").format(table),
        (address.entry_id,),
    ).fetchone()
    assert row is not None
    state = orjson.loads(bytes(row[1]))
    state["state"]["value"] = value
    tables.db.execute(
        SQL("UPDATE {} SET state = %s WHERE originator_id = %s").format(table),
        (orjson.dumps(state), address.entry_id),
    )


def test_an_event_that_does_not_match_its_hash_is_not_served(
    open_test_store: StoreOpener, tables: Tables
) -> None:
    with open_test_store() as store:
        store.set(FLAG, {"enabled": True, "rollout_percent": 1}, provenance=WHO)
        store.patch(FLAG, {"rollout_percent": 2}, provenance=WHO)
    _edit_state(tables, FLAG, 2, b'"value":2}', b'"value":55}')
    with open_test_store() as store:  # a process that never saw the entry
        with pytest.raises(BrokenLogError) as raised:
            store.get(FLAG)
        assert raised.value.position == tables.position(FLAG, 2)
        with pytest.raises(BrokenLogError):
            store.history(FLAG)
        assert [e.name for e in store.quarantined("default")] == ["default/feature_flag/f"]


def test_a_tampered_snapshot_is_not_served_and_repair_drops_it(
    open_test_store: StoreOpener, tables: Tables
) -> None:
    with open_test_store(snapshot_interval=2) as store:
        store.set(FLAG, {"enabled": True, "rollout_percent": 1}, provenance=WHO)
        store.patch(FLAG, {"rollout_percent": 2}, provenance=WHO)
    _snapshot_value(tables, FLAG, {"enabled": True, "rollout_percent": 77})
    with open_test_store(snapshot_interval=2) as store:
        assert store.get(FLAG).stored == {"enabled": True, "rollout_percent": 2}
        assert [f.problem for f in store.verify().findings] == [
            "snapshot differs from the replayed events"
        ]
        report = run_repair(store, plan_repair(store, "default"), ADMIN)
        record_repair(store, report, ADMIN)
        assert store.verify().findings == []
    with open_test_store(snapshot_interval=2) as store:
        assert store.get(FLAG).stored == {"enabled": True, "rollout_percent": 2}


def _unused(store: ConfigStore) -> None:  # keeps the import for later tests
    del store
