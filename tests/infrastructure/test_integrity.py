"""Damage to one entry's own log, made with SQL against the real tables: ``inspect_entry``
and ``verify`` name the entry and the first bad position; reads refuse the entry with
:class:`BrokenLogError`; lists and whole-environment reads agree with them."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import Provenance
from domain.errors import BrokenLogError
from domain.stored import BROKEN_LOG_TYPE
from infrastructure.store import ConfigStore
from infrastructure.store.integrity import inspect_entry

ROUTER = Address("default", "router", "default")
FLAG = Address("default", "feature_flag", "f")
WHO = Provenance(actor="t", correlation_id="t")


class Tables:
    """SQL against one test schema's tables."""

    def __init__(self, db: psycopg.Connection[Any], schema: str) -> None:
        self.db = db
        self.schema = schema

    def t(self, name: str) -> SQL | Any:
        return SQL("{}.{}").format(Identifier(self.schema), Identifier(name))

    def position(self, address: Address, version: int) -> int:
        row = self.db.execute(
            SQL(
                "SELECT notification_id FROM {} WHERE originator_id = %s"
                " AND originator_version = %s"
            ).format(self.t("conduitconfig_events")),
            (address.entry_id, version),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def delete_event(self, address: Address, version: int) -> int:
        position = self.position(address, version)
        self.db.execute(
            SQL("DELETE FROM {} WHERE notification_id = %s").format(self.t("conduitconfig_events")),
            (position,),
        )
        return position

    def set_state(self, address: Address, version: int, state: bytes) -> int:
        position = self.position(address, version)
        self.db.execute(
            SQL("UPDATE {} SET state = %s WHERE notification_id = %s").format(
                self.t("conduitconfig_events")
            ),
            (state, position),
        )
        return position


@pytest.fixture
def tables(db: psycopg.Connection[Any], schema: str) -> Tables:
    return Tables(db, schema)


def _fill(store: ConfigStore) -> None:
    for retries in range(4):  # versions 1..4
        store.set(ROUTER, {"max_retries": retries}, provenance=WHO)
    store.set(FLAG, {"enabled": True}, provenance=WHO)


def test_intact_log(store: ConfigStore) -> None:
    _fill(store)
    found = inspect_entry(store, ROUTER.entry_id)
    assert (found.latest, found.intact_through, found.problems) == (4, 4, [])
    assert [e.version for e in found.events] == [1, 2, 3, 4]
    assert found.name == "default/router/default"


def test_middle_event_deleted(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    position = tables.delete_event(ROUTER, 2)
    found = inspect_entry(store, ROUTER.entry_id)
    assert (found.latest, found.intact_through) == (4, 1)
    assert [(f.version, f.position) for f in found.problems] == [(2, position)]
    assert f"position {position}" in found.problems[0].problem


def test_non_object_state(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    position = tables.set_state(ROUTER, 3, b"[1, 2]")
    found = inspect_entry(store, ROUTER.entry_id)
    assert found.intact_through == 2
    assert [(f.version, f.position) for f in found.problems] == [(3, position)]
    assert "not an object" in found.problems[0].problem


def _refused(store: ConfigStore, position: int | None, **get: Any) -> BrokenLogError:
    with pytest.raises(BrokenLogError) as caught:
        store.get(ROUTER, **get)
    assert (caught.value.entry, caught.value.position) == ("default/router/default", position)
    return caught.value


def _listed(store: ConfigStore) -> tuple[list[str], list[tuple[str, str | None]]]:
    listing = store.listing("default")
    return (
        [str(v.address) for v in listing.items],
        [(p.entry, p.type) for p in listing.problems],
    )


BROKEN = [("router/default", BROKEN_LOG_TYPE)]


def test_middle_event_deleted_refuses_reads(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    position = tables.delete_event(ROUTER, 2)
    error = _refused(store, position)
    assert "version 2 missing" in str(error) and "conduit-config repair" in str(error)
    _refused(store, position, version=3)
    with pytest.raises(BrokenLogError, match=f"position {position}"):
        store.history(ROUTER)
    with pytest.raises(BrokenLogError):
        store.set(ROUTER, {"max_retries": 9}, provenance=WHO)
    assert _listed(store) == (["feature_flag/f"], BROKEN)
    assert [q.name for q in store.quarantined("default")] == ["default/router/default"]


def test_last_event_deleted_is_no_silent_rollback(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    position = tables.delete_event(ROUTER, 4)
    _refused(store, position)
    with pytest.raises(BrokenLogError):
        store.history(ROUTER)
    assert _listed(store) == (["feature_flag/f"], BROKEN)


def test_only_event_deleted_is_broken_not_missing(store: ConfigStore, tables: Tables) -> None:
    store.set(ROUTER, {"max_retries": 1}, provenance=WHO)
    store.set(FLAG, {"enabled": True}, provenance=WHO)
    store.list_entries("default")  # the current read model has the entry
    position = tables.delete_event(ROUTER, 1)
    _refused(store, position)
    with pytest.raises(BrokenLogError):
        store.history(ROUTER)
    assert _listed(store) == (["feature_flag/f"], BROKEN)


def test_non_object_state_refuses_reads(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    position = tables.set_state(ROUTER, 3, b'"text"')
    error = _refused(store, position)
    assert "not an object" in str(error)
    _refused(store, position, version=2)  # quarantined: no version is served
    assert _listed(store) == (["feature_flag/f"], BROKEN)
