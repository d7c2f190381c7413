"""Attacks on the log's promise by someone with write access to the database: each found
by an adversarial review, each kept here so it stays found."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest
from psycopg.sql import SQL
from psycopg.types.json import Jsonb

from domain.address import Address
from domain.entry import Provenance
from domain.errors import BrokenLogError
from domain.parsing import MalformedInputError
from domain.values import value_hash
from infrastructure.store import ConfigStore
from infrastructure.store.chain import ChainHead, head
from infrastructure.store.repair import plan_repair, record_repair, run_repair
from infrastructure.store.repair_acks import fingerprints
from tests.chain_support import KEY_A, key_bytes
from tests.conftest import StoreOpener
from tests.integrity_support import Tables

FLAG = Address("default", "feature_flag", "f")
FLAG2 = Address("default", "feature_flag", "g")
ROUTER = Address("default", "router", "default")
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


def _repaired(store: ConfigStore, tables: Tables, *, audit_key: bytes | None = None) -> int:
    """A router whose version 2 event was deleted, repaired (the break at its position
    acknowledged); that position."""
    for retries in range(3):
        store.patch(ROUTER, {"max_retries": retries}, provenance=WHO)
    position = tables.delete_event(ROUTER, 2)
    report = run_repair(store, plan_repair(store, None), ADMIN, audit_key=audit_key)
    record_repair(store, report, ADMIN)
    assert report.acknowledged == [position]
    return position


def _problems(store: ConfigStore, **options: Any) -> list[tuple[int | None, str]]:
    return [(f.position, f.problem) for f in store.verify(None, **options).findings]


def _rewrite_value(tables: Tables, address: Address, version: int, value: dict[str, Any]) -> int:
    """Rewrite a whole-value event's value together with its recomputed value hash (what a
    hostile user with write access can do); its position."""
    position = tables.position(address, version)
    table = tables.t("conduitconfig_events")
    row = tables.db.execute(
        SQL("SELECT state FROM {} WHERE notification_id = %s").format(table), (position,)
    ).fetchone()
    assert row is not None
    state = orjson.loads(bytes(row[0]))
    state["value"], state["meta"]["value_hash"] = value, value_hash(value)
    tables.set_state(address, version, orjson.dumps(state))
    return position


def _forge_ack(tables: Tables, positions: list[int]) -> None:
    tables.db.execute(
        SQL(
            "INSERT INTO {} (actor, reason, source, correlation_id, head, actions,"
            " acknowledged_breaks) VALUES ('x', 'x', 'cli', 'x', 0, '{{}}', %s)"
        ).format(tables.t("cc_repairs")),
        (positions,),
    )


def test_a_forged_repair_row_does_not_hide_a_new_break(
    open_test_store: StoreOpener, tables: Tables
) -> None:
    with open_test_store() as store:
        store.set(FLAG, {"enabled": True}, provenance=WHO)
        store.set(FLAG2, {"enabled": True}, provenance=WHO)
        position = _rewrite_value(tables, FLAG, 1, {"enabled": False})
        found = head(store)
        assert found is not None
        _forge_ack(tables, list(range(1, 1000)))
        assert [p for p, _ in _problems(store)] == [position]
        forged = ChainHead(found.position, "0" * 64)
        # A well-formed acknowledgement of a recorded head's mismatch counts for nothing.
        ack = {
            "position": found.position,
            "problem": "link differs from the recorded head: history up to it was rewritten",
            "fingerprint": fingerprints(store, [found.position])[found.position],
        }
        tables.db.execute(
            SQL(
                "INSERT INTO {} (actor, source, correlation_id, head, actions,"
                " acknowledgement) VALUES ('x', 'cli', 'x', 0, '{{}}', %s)"
            ).format(tables.t("cc_repairs")),
            (Jsonb({"breaks": [ack]}),),
        )
        assert (
            found.position,
            "chain: link differs from the recorded head: history up to it was rewritten",
        ) in _problems(store, against=forged)


def test_an_acknowledged_position_tampered_again_is_a_problem(
    open_test_store: StoreOpener, tables: Tables
) -> None:
    with open_test_store() as store:
        store.set(FLAG, {"enabled": True}, provenance=WHO)
        store.set(FLAG2, {"enabled": True}, provenance=WHO)
        position = tables.position(FLAG, 1)
        tables.db.execute(
            SQL("DELETE FROM {} WHERE position = %s").format(tables.t("cc_event_index")),
            (position,),
        )
        report = run_repair(store, plan_repair(store, None), ADMIN)  # adds the index row
        record_repair(store, report, ADMIN)
        assert report.acknowledged == [position]
        assert _problems(store) == []
        # The acknowledged event rewritten (value hash and read model to match): a new break.
        _rewrite_value(tables, FLAG, 1, {"enabled": False})
        store.rebuild_projection("current")
        assert [p for p, _ in _problems(store)] == [position]


def test_a_keyed_chain_honours_only_acknowledgements_made_with_its_key(
    open_test_store: StoreOpener, tables: Tables
) -> None:
    with open_test_store(audit_key=KEY_A) as store:
        store.set(ROUTER, {"max_retries": 9}, provenance=WHO)
        position = _repaired(store, tables, audit_key=key_bytes(KEY_A))
        assert _problems(store, audit_key=key_bytes(KEY_A)) == []
        store.set(FLAG, {"enabled": True}, provenance=WHO)
        store.set(FLAG2, {"enabled": True}, provenance=WHO)
        tampered = _rewrite_value(tables, FLAG, 1, {"enabled": False})
        # A copy of the genuine record, with the new position added: not signed for it.
        tables.db.execute(
            SQL(
                "INSERT INTO {r} (actor, reason, source, correlation_id, head, actions,"
                " acknowledged_breaks, acknowledgement) SELECT actor, reason, source,"
                " correlation_id, head, actions, acknowledged_breaks || %s::bigint,"
                " jsonb_set(acknowledgement, '{{breaks}}', acknowledgement->'breaks'"
                " || jsonb_build_array(jsonb_build_object('position', %s::bigint, 'problem',"
                " 'link does not match the event: the event was modified (or one just before"
                " it deleted or inserted)', 'fingerprint', %s::text))) FROM {r}"
            ).format(r=tables.t("cc_repairs")),
            (tampered, tampered, fingerprints(store, [tampered])[tampered]),
        )
        assert [p for p, _ in _problems(store, audit_key=key_bytes(KEY_A))] == [tampered]
        assert position not in [p for p, _ in _problems(store, audit_key=key_bytes(KEY_A))]


@pytest.mark.parametrize("position", ["0", "00"])
def test_a_head_at_position_zero_is_malformed(position: str) -> None:
    with pytest.raises(MalformedInputError) as raised:
        ChainHead.parse(f"{position}:{'a' * 64}", name="--against")
    assert raised.value.name == "--against"
