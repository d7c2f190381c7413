"""Damage to one entry's own log, made with SQL against the real tables: ``inspect_entry``
and ``verify`` name the entry and the first bad position; reads refuse the entry with
:class:`BrokenLogError`; lists and whole-environment reads agree with them."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest
from psycopg.sql import SQL

from domain.address import Address
from domain.entry import Provenance
from domain.errors import BrokenLogError
from domain.stored import BROKEN_LOG_TYPE
from domain.values import value_hash
from infrastructure.crypto import decode_key, generate_key, key_id
from infrastructure.store import ConfigStore
from infrastructure.store.chain import head
from infrastructure.store.integrity import inspect_entry
from tests.conftest import TEST_SECRET_KEY, StoreOpener
from tests.integrity_support import Tables

ROUTER = Address("default", "router", "default")
FLAG = Address("default", "feature_flag", "f")
WHO = Provenance(actor="t", correlation_id="t")


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


def _problems(store: ConfigStore, **verify: Any) -> list[tuple[str, int | None, int | None]]:
    report = store.verify(**verify)
    return [(f.entry, f.version, f.position) for f in report.findings]


def test_verify_names_a_deleted_middle_event(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    position = tables.delete_event(ROUTER, 2)
    report = store.verify()
    found = [(f.entry, f.version, f.position) for f in report.findings]
    assert found[0] == ("default:router/default", 2, position)
    assert "version 2 missing" in report.findings[0].problem
    # The chain names the same position: its link went with the event.
    assert [f.position for f in report.findings[1:]] == [position]
    assert report.quarantined == ["default/router/default"]
    assert report.to_json()["chain"]["start"] == 1


def test_verify_names_a_deleted_last_and_only_event(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    last = tables.delete_event(ROUTER, 4)
    only = tables.delete_event(FLAG, 1)
    entries = [f for f in store.verify().findings if not f.problem.startswith("chain: ")]
    assert [(f.entry, f.version, f.position) for f in entries] == [
        ("default:feature_flag/f", 1, only),
        ("default:router/default", 4, last),
    ]
    assert all("event deleted" in f.problem for f in entries)


def test_verify_reports_a_non_object_state(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    for state in (b"[]", b"7", b'"x"', b"null", b"not json"):
        position = tables.set_state(ROUTER, 2, state)
        found = [f for f in store.verify().findings if not f.problem.startswith("chain: ")]
        assert [(f.version, f.position) for f in found] == [(2, position)]
        assert "does not decode" in found[0].problem


def test_an_index_row_naming_another_environment(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    position = tables.update_index(ROUTER, 3, environment="staging")
    found = _problems(store)
    assert found == [("default:router/default", 3, position)]
    assert "not the entry's" in store.verify().findings[0].problem
    _refused(store, position)  # quarantined by verify


def test_an_index_row_with_another_version(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    position = tables.update_index(ROUTER, 4, version=7)
    report = store.verify()
    assert [(f.version, f.position) for f in report.findings] == [(7, position), (4, position)]
    assert "version 7 is in the event index" in report.findings[0].problem
    assert "says version 7, the event is version 4" in report.findings[1].problem
    _refused(store, position)


def test_an_inserted_event_without_index_rows(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    ghost = Address("default", "feature_flag", "ghost")
    store.set(ghost, {"enabled": True}, provenance=WHO)
    position = tables.position(ghost, 1)
    tables.db.execute(
        SQL("DELETE FROM {} WHERE position = %s").format(tables.t("cc_event_index")), (position,)
    )
    tables.db.execute(
        SQL("DELETE FROM {} WHERE entry_id = %s").format(tables.t("cc_current")),
        (ghost.entry_id,),
    )
    found = [f for f in store.verify().findings if not f.problem.startswith("chain: ")]
    assert [(f.entry, f.version, f.position) for f in found] == [
        ("default:feature_flag/ghost", 1, position)
    ]
    assert "no event index rows" in found[0].problem
    assert [q.name for q in store.quarantined()] == ["default/feature_flag/ghost"]


def test_a_current_row_disagreeing_with_the_log(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    store.list_entries("default")  # the current read model has caught up
    tables.update_current(ROUTER, version=2)
    report = store.verify()
    last = tables.position(ROUTER, 4)
    assert [(f.entry, f.version, f.position) for f in report.findings] == [
        ("default:router/default", 2, last)
    ]
    assert "current read model says version 2" in report.findings[0].problem
    assert report.quarantined == []  # the log is sound: repair rebuilds the read model
    assert store.get(ROUTER).version == 4


def test_a_current_value_disagreeing_with_the_log(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    store.list_entries("default")
    tables.db.execute(
        SQL("UPDATE {} SET stored = %s::jsonb WHERE entry_id = %s").format(tables.t("cc_current")),
        ('{"max_retries": 9}', ROUTER.entry_id),
    )
    report = store.verify()
    assert [(f.entry, f.version, f.position) for f in report.findings] == [
        ("default:router/default", 4, tables.position(ROUTER, 4))
    ]
    assert "value differs from the log's value at version 4" in report.findings[0].problem
    assert report.quarantined == []


def test_a_current_row_without_events(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    store.list_entries("default")
    tables.db.execute(
        SQL("DELETE FROM {} WHERE originator_id = %s").format(tables.t("conduitconfig_events")),
        (FLAG.entry_id,),
    )
    tables.db.execute(
        SQL("DELETE FROM {} WHERE entry_id = %s").format(tables.t("cc_event_index")),
        (FLAG.entry_id,),
    )
    found = [f for f in store.verify().findings if not f.problem.startswith("chain: ")]
    assert [(f.entry, f.version) for f in found] == [("default:feature_flag/f", 1)]
    assert "has no events" in found[0].problem
    with pytest.raises(BrokenLogError):
        store.get(FLAG)
    assert _listed(store) == (["router/default"], [("feature_flag/f", BROKEN_LOG_TYPE)])


def test_a_rewritten_value_with_its_hash_is_caught_by_the_chain(
    store: ConfigStore, tables: Tables
) -> None:
    _fill(store)
    row = tables.db.execute(
        SQL("SELECT state FROM {} WHERE notification_id = %s").format(
            tables.t("conduitconfig_events")
        ),
        (tables.position(ROUTER, 2),),
    ).fetchone()
    assert row is not None
    state = orjson.loads(row[0])
    state["value"]["max_retries"] = 9
    state["meta"]["value_hash"] = value_hash(state["value"])
    position = tables.set_state(ROUTER, 2, orjson.dumps(state))
    report = store.verify()
    assert [(f.entry, f.position) for f in report.findings] == [
        ("default:router/default", position)
    ]
    assert report.findings[0].problem.startswith("chain: ")


def test_verify_against_a_recorded_head(store: ConfigStore, tables: Tables) -> None:
    _fill(store)
    recorded = head(store)
    assert recorded is not None
    store.set(FLAG, {"enabled": False}, provenance=WHO)
    assert store.verify(against=recorded).findings == []
    tables.delete_event(FLAG, 2)
    tables.delete_event(FLAG, 1)
    report = store.verify(against=recorded)
    assert recorded.position in [f.position for f in report.findings]


def test_verify_lists_secrets_sealed_under_a_retired_key(
    store: ConfigStore, open_test_store: StoreOpener
) -> None:
    provider = Address("default", "provider", "openai")
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": "sk-test"}]}
    store.set(provider, value, provenance=WHO)
    assert store.verify().retired_keys == []
    old_id = key_id(decode_key(TEST_SECRET_KEY, source="test"))
    with open_test_store(secret_key=generate_key(), retired_secret_keys=TEST_SECRET_KEY) as new:
        report = new.verify()
    assert report.findings == []
    assert [r.to_json() for r in report.retired_keys] == [
        {"entry": "default:provider/openai", "field": "keys.0.api_key", "key_id": old_id}
    ]
