"""Defence in depth: a value already in the log that today's rules refuse, or that cannot
be decoded, never breaks reads of the other entries. Whole-environment reads serve the
rest and name the bad entry; a read of the entry itself says why; promote never copies
it; checkpoints move on; ``verify`` names it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import psycopg
import pytest
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.document import EnvDocument, parse_document
from domain.errors import BrokenLogError, InvalidValueError
from domain.stored import BrokenEntry, StoredValueError
from infrastructure.crypto import generate_key
from infrastructure.store import ConfigStore
from infrastructure.store.readmodels import AuditQuery
from tests.conftest import StoreOpener
from tests.infrastructure.test_environment_review import Quota, StricterQuota
from tests.infrastructure.test_projections import who
from tests.stored_support import nested, not_an_object, set_event_state, write_unchecked

ENV = "default"
GOOD = {("feature_flag", "a"): {"enabled": True}, ("feature_flag", "b"): {"rollout_percent": 5}}
DEEP = Address(ENV, "virtual_key", "deep")
ROUTER = Address(ENV, "router", "default")
TORN = Address(ENV, "feature_flag", "torn")


def _good(store: ConfigStore, environment: str = ENV) -> None:
    for (area, key), value in GOOD.items():
        store.set(Address(environment, area, key), value, provenance=who())


def _deep(store: ConfigStore) -> Address:
    """(a) nested 300 levels: no JSON encoder of ours can write it."""
    write_unchecked(store, DEEP, {"key_hash": "a" * 64, "metadata": nested(300)})
    return DEEP


def _stricter(store: ConfigStore) -> Address:
    """(b) max_retries 50: today's router schema allows at most 10."""
    write_unchecked(store, ROUTER, {"max_retries": 50})
    return ROUTER


def _not_an_object(store: ConfigStore) -> Address:
    """(d) an event row whose JSON is not an object at all."""
    write_unchecked(store, TORN, {"enabled": False}, encode=not_an_object)
    return TORN


BAD_CASES: dict[str, Callable[[ConfigStore], Address]] = {
    "too-deep": _deep,
    "newer-rule": _stricter,
    "not-an-object": _not_an_object,
}


def _names(problems: Any) -> list[str]:
    return [p.entry for p in problems]


@pytest.fixture(params=sorted(BAD_CASES))
def bad(request: pytest.FixtureRequest, store: ConfigStore) -> Address:
    """An environment with two good entries and one bad one (written first, so that every
    read has to get past it)."""
    address = BAD_CASES[request.param](store)
    _good(store)
    return address


def test_whole_environment_reads_serve_the_rest(store: ConfigStore, bad: Address) -> None:
    label = f"{bad.area}/{bad.key}"
    good = {"feature_flag": {"a": {"enabled": True}, "b": {"rollout_percent": 5}}}

    document = store.export(ENV)
    assert document.entries == good
    assert _names(document.problems) == [label]
    assert "problems" in orjson.loads(orjson.dumps(document.to_json()))

    state = store.environment_state(ENV)
    assert {(e.area, e.key) for e in state.entries} == set(GOOD)
    assert _names(state.problems) == [label]

    diff = store.diff_environment(ENV, 0, None)
    assert [(c.area, c.key, c.action) for c in diff.changes] == [
        ("feature_flag", "a", "create"),
        ("feature_flag", "b", "create"),
    ]
    assert _names(diff.problems) == [label]

    info = store.create_snapshot(ENV, "kept", actor="t")
    assert _names(info.problems) == [label]
    assert store.export(ENV, "kept").entries == good


def test_the_bad_entry_itself_says_why(store: ConfigStore, bad: Address) -> None:
    if bad == TORN:  # an event that does not decode: the entry's log is broken
        with pytest.raises(BrokenLogError, match="does not decode"):
            store.get(bad)
        return
    with pytest.raises(StoredValueError) as caught:
        store.get(bad)
    assert isinstance(caught.value, InvalidValueError)  # exit 3 / HTTP 422
    assert f"{bad.area}/{bad.key}" in str(caught.value)
    assert "not valid under the current rules" in str(caught.value)


def test_list_serves_the_rest(store: ConfigStore, bad: Address) -> None:
    listing = store.listing(ENV)
    assert [(v.address.area, v.address.key) for v in listing.items] == sorted(GOOD)
    if bad != TORN:  # the current read model skips an event it cannot decode
        assert _names(listing.problems) == [f"{bad.area}/{bad.key}"]
    assert store.list_entries(ENV) == listing.items


def test_promote_never_copies_a_bad_value(store: ConfigStore, bad: Address) -> None:
    store.set(Address("prod", bad.area, bad.key), _valid(bad), provenance=who())
    result = store.promote(ENV, "prod", provenance=who(), prune=True)
    assert _names(result.skipped) == [f"{bad.area}/{bad.key}"]
    assert {(c.area, c.key) for c in result.changes} == set(GOOD)
    kept = store.get(Address("prod", bad.area, bad.key))  # pruned it would be, not skipped
    assert kept.version == 1 and kept.stored == _valid(bad)


def _valid(address: Address) -> dict[str, Any]:
    return {
        "virtual_key": {"key_hash": "b" * 64},
        "router": {"max_retries": 2},
        "feature_flag": {"enabled": True},
    }[address.area]


def test_verify_names_the_bad_entry(store: ConfigStore, bad: Address) -> None:
    findings = [(f.entry, f.problem) for f in store.verify(ENV).findings]
    assert [entry for entry, _ in findings] == [f"{ENV}:{bad.area}/{bad.key}"]
    problem = findings[0][1]
    assert "does not decode" in problem if bad == TORN else "current rules" in problem


def test_checkpoints_record_the_rest_and_move_on(open_test_store: StoreOpener) -> None:
    with open_test_store(checkpoint_interval=10) as store:
        _deep(store)
        for index in range(12):
            store.set(Address(ENV, "feature_flag", f"f{index}"), {}, provenance=who())
        store.projections.catch_up()
        assert all(s.lag == 0 for s in store.projection_status())
        checkpoints = store.snapshots(ENV, automatic=True)
        assert [c.position for c in checkpoints] == [10]
        with (
            store.app.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            state = store.checkpoints.state_at(cur, ENV, 10)
        broken = state["virtual_key", "deep"]
        assert isinstance(broken, BrokenEntry) and "cannot be encoded" in broken.problem
        assert state["feature_flag", "f8"].stored == {}
        assert sorted(store.export(ENV).entries["feature_flag"]) == sorted(
            f"f{i}" for i in range(12)
        )
        # A later valid value makes the entry whole again, for every read.
        store.set(DEEP, {"key_hash": "c" * 64}, provenance=who())
        assert store.export(ENV).problems == []


def test_a_damaged_checkpoint_is_passed_over(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store(checkpoint_interval=10) as store:
        for index in range(10):
            store.set(Address(ENV, "feature_flag", f"f{index}"), {}, provenance=who())
        store.create_snapshot(ENV, "s", actor="t")
        table = SQL("{}.cc_checkpoints").format(Identifier(schema))
        db.execute(SQL("UPDATE {} SET state = '\"garbage\"'::jsonb").format(table))
        assert len(store.export(ENV).entries["feature_flag"]) == 10
        db.execute(
            SQL(
                "UPDATE {} SET state = jsonb_build_array(jsonb_build_object("
                "'a', 'feature_flag', 'k', 'f1', 'v', 1, 'p', 2, 's', '[1]'::jsonb, 'd', false))"
            ).format(table)
        )
        document = store.export(ENV, "s")
        assert _names(document.problems) == ["feature_flag/f1"]
        assert "not a JSON object" in document.problems[0].reason


def test_a_current_row_that_is_not_an_object(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    _good(store)
    assert len(store.list_entries(ENV)) == 2
    table = SQL("{}.cc_current").format(Identifier(schema))
    db.execute(SQL("UPDATE {} SET stored = '[]'::jsonb WHERE key = 'a'").format(table))
    listing = store.listing(ENV)
    assert [v.address.key for v in listing.items] == ["b"]
    assert _names(listing.problems) == ["feature_flag/a"]
    assert "not a JSON object" in listing.problems[0].reason


def test_a_secret_sealed_under_another_key(open_test_store: StoreOpener) -> None:
    """(c) Redacted reads still serve it (the secret is shown as ``********`` anyway);
    reads that keep or open secrets leave it out, and promote does not copy it."""
    openai = Address(ENV, "provider", "openai")
    value = {"provider_type": "openai", "keys": [{"name": "k", "api_key": "sk-OTHER"}]}
    with open_test_store(secret_key=generate_key()) as other:
        other.set(openai, value, provenance=who())
    with open_test_store() as store:
        _good(store)
        assert store.export(ENV).entries["provider"]["openai"]["keys"][0]["api_key"] == "********"
        sealed = store.export(ENV, include_secrets=True)
        assert "provider" not in sealed.entries
        assert _names(sealed.problems) == ["provider/openai"]
        assert "does not decrypt" in sealed.problems[0].reason
        assert _names(store.promote(ENV, "prod", provenance=who()).skipped) == ["provider/openai"]
        assert store.load(Address("prod", "provider", "openai")) is None
        findings = store.verify(ENV).findings
        assert [f.entry for f in findings] == [f"{ENV}:provider/openai"]


def test_apply_leaves_alone_what_a_document_says_its_export_left_out(store: ConfigStore) -> None:
    _good(store)
    exported = store.export(ENV).to_json()
    exported["problems"] = [{"area": "feature_flag", "key": "b", "reason": "x"}]
    del exported["entries"]["feature_flag"]["b"]
    document = parse_document(exported)
    assert isinstance(document, EnvDocument)
    result = store.apply_document(document, environment=ENV, provenance=who(), prune=True)
    assert result.changes == [] and _names(result.skipped) == ["feature_flag/b"]
    assert store.get(Address(ENV, "feature_flag", "b")).version == 1


def test_restore_names_a_broken_entry_of_the_target_point(store: ConfigStore) -> None:
    store.set(TORN, {"enabled": False}, provenance=who())
    point = store.projections.head()
    store.set(TORN, {"enabled": True}, provenance=who())
    set_event_state(store, TORN, 1, b"[]")
    with pytest.raises(InvalidValueError) as caught:
        store.restore(ENV, point, provenance=who())
    assert [e.field for e in caught.value.errors] == ["entries.feature_flag.torn"]


def test_restore_refuses_an_entry_whose_event_does_not_decode(store: ConfigStore) -> None:
    """An event that does not decode breaks the entry's log: reads and writes refuse it
    (``repair`` re-establishes it), whole-environment reads name it."""
    store.set(TORN, {"enabled": False}, provenance=who())
    point = store.projections.head()
    write_unchecked(store, TORN, {"enabled": True}, encode=not_an_object)
    with pytest.raises(BrokenLogError, match="does not decode"):
        store.get(TORN)
    assert _names(store.export(ENV).problems) == ["feature_flag/torn"]
    with pytest.raises(BrokenLogError):
        store.restore(ENV, point, provenance=who())


def test_rollback_refuses_an_entry_whose_event_does_not_decode(store: ConfigStore) -> None:
    store.set(TORN, {"enabled": False}, provenance=who())
    write_unchecked(store, TORN, {"enabled": True}, encode=not_an_object)
    with pytest.raises(BrokenLogError):
        store.rollback(TORN, to_version=1, provenance=who())
    assert store.list_entries(ENV) == []


def test_set_refuses_an_entry_whose_event_does_not_decode(store: ConfigStore) -> None:
    store.set(TORN, {"enabled": False}, provenance=who())
    write_unchecked(store, TORN, {"enabled": True}, encode=not_an_object)
    with pytest.raises(BrokenLogError):
        store.patch(TORN, {"enabled": True}, provenance=who())
    with pytest.raises(BrokenLogError):
        store.set(TORN, {"rollout_percent": 7}, provenance=who())
    with pytest.raises(BrokenLogError):
        store.get(TORN, version=1)  # quarantined: no version is served


def test_a_stricter_schema_registered_later(store: ConfigStore) -> None:
    """Values are checked against the schema registered now, not the one they were
    written (and first read) under."""
    store.registry.register(Quota)
    store.set(Address(ENV, "quota", "a"), {"limit": 50}, provenance=who())
    store.set(Address(ENV, "quota", "b"), {"limit": 5}, provenance=who())
    assert store.export(ENV).problems == []
    store.registry.register(StricterQuota, replace=True)
    document = store.export(ENV)
    assert document.entries == {"quota": {"b": {"limit": 5}}}
    assert [(p.entry, p.reason) for p in document.problems] == [
        ("quota/a", "limit: Input should be less than or equal to 10")
    ]


def test_projections_move_past_a_row_that_does_not_decode(open_test_store: StoreOpener) -> None:
    with open_test_store(checkpoint_interval=10) as store:
        write_unchecked(store, TORN, {"enabled": True}, encode=not_an_object)
        for index in range(11):
            store.set(Address(ENV, "feature_flag", f"f{index}"), {}, provenance=who())
        store.projections.catch_up()
        assert [s.lag for s in store.projection_status()] == [0, 0, 0]
        assert [c.position for c in store.snapshots(ENV, automatic=True)] == [10]
        with (
            store.app.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            torn = store.checkpoints.state_at(cur, ENV, 10)["feature_flag", "torn"]
        assert isinstance(torn, BrokenEntry) and "does not decode" in torn.problem
        assert len(store.list_entries(ENV)) == 11
        assert len(store.audit(AuditQuery(environment=ENV, limit=100))) == 11
