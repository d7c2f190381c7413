"""Atomic multi-entry commands: plan/apply a document, prune, guards, promote, and
secrets that never reach the database (or a document) in plaintext."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from domain.address import Address
from domain.document import EnvDocument, parse_document
from domain.errors import InvalidValueError, VersionConflictError
from domain.parsing import MalformedInputError
from domain.secrets import REDACTED, is_sealed
from infrastructure.store import ConfigStore, WriteResult
from tests.conftest import dump_schema
from tests.infrastructure.test_environment_history import _restore_fixture
from tests.infrastructure.test_projections import who

PLAINTEXT = "sk-live-PLAINTEXT-4711"
OPENAI = Address("prod", "provider", "openai")


def doc(entries: dict[str, dict[str, Any]]) -> EnvDocument:
    return parse_document({"entries": entries})


def flag(key: str, env: str = "prod") -> Address:
    return Address(env, "feature_flag", key)


def provider(api_key: str) -> dict[str, Any]:
    return {"provider_type": "openai", "keys": [{"name": "main", "api_key": api_key}]}


def _seed(store: ConfigStore) -> None:
    store.set(flag("kept"), {"enabled": True}, provenance=who())
    store.set(flag("edited"), {"enabled": True}, provenance=who())
    store.set(flag("gone"), {"rollout_percent": 5}, provenance=who())
    store.delete(flag("gone"), provenance=who())
    store.set(flag("extra"), {"description": "not in the document"}, provenance=who())


WANTED: dict[str, dict[str, dict[str, Any]]] = {
    "feature_flag": {
        "kept": {"enabled": True},
        "edited": {"rollout_percent": 20},
        "gone": {"rollout_percent": 5},
        "new": {"description": "n"},
    },
    "router": {"default": {"max_retries": 4}},
}


def test_apply_is_atomic_when_one_entry_is_invalid(store: ConfigStore) -> None:
    _seed(store)
    head = store.projections.head()
    before = store.export("prod").entries
    bad = {**WANTED, "feature_flag": {**WANTED["feature_flag"], "bad": {"rollout_percent": 150}}}
    with pytest.raises(InvalidValueError) as caught:
        store.apply_document(doc(bad), environment="prod", provenance=who())
    assert [e.field for e in caught.value.errors] == ["entries.feature_flag.bad.rollout_percent"]
    assert store.projections.head() == head
    assert store.export("prod").entries == before


def test_plan_matches_apply_and_a_second_apply_appends_nothing(store: ConfigStore) -> None:
    _seed(store)
    head = store.projections.head()
    plan = store.apply_document(doc(WANTED), environment="prod", provenance=who(), dry_run=True)
    assert (plan.applied, plan.base_position, plan.position) == (False, head, head)
    assert store.projections.head() == head
    assert [(s.key, s.action) for s in plan.steps] == [
        ("edited", "update"),
        ("gone", "undelete"),
        ("kept", "unchanged"),
        ("new", "create"),
        ("default", "create"),
    ]
    done = store.apply_document(doc(WANTED), environment="prod", provenance=who("ops"))
    assert done.applied and done.steps == plan.steps
    assert store.projections.head() == done.position == head + len(done.changes) == head + 4
    assert store.export("prod").entries == {
        **WANTED,
        "feature_flag": {**WANTED["feature_flag"], "extra": {"description": "not in the document"}},
    }
    assert [h.event for h in store.history(flag("gone"))] == ["created", "deleted", "restored"]
    assert store.get(flag("edited")).actor == "ops"
    again = store.apply_document(doc(WANTED), environment="prod", provenance=who())
    assert (again.applied, again.changes, again.position) == (False, [], done.position)
    assert {s.action for s in again.steps} == {"unchanged"}
    assert store.projections.head() == done.position


def test_prune_deletes_entries_absent_from_the_document(store: ConfigStore) -> None:
    _seed(store)
    plan = store.apply_document(
        doc(WANTED), environment="prod", provenance=who(), prune=True, dry_run=True
    )
    assert [s.action for s in plan.steps if s.key == "extra"] == ["delete"]
    done = store.apply_document(doc(WANTED), environment="prod", provenance=who(), prune=True)
    assert done.steps == plan.steps
    assert store.export("prod").entries == WANTED
    assert store.history(flag("extra"))[-1].event == "deleted"
    empty = store.apply_document(doc({}), environment="prod", provenance=who(), prune=True)
    assert len(empty.changes) == 5
    assert store.export("prod").entries == {}


def test_stale_expected_position_is_a_conflict(store: ConfigStore) -> None:
    _seed(store)
    seen = store.export("prod").position
    store.set(flag("other", env="default"), {}, provenance=who())  # another environment
    fine = store.apply_document(
        doc(WANTED), environment="prod", provenance=who(), expected_position=seen
    )
    assert fine.applied
    head = store.projections.head()
    with pytest.raises(VersionConflictError, match=f"changed after position {seen}"):
        store.apply_document(
            doc({"feature_flag": {"kept": {}}}),
            environment="prod",
            provenance=who(),
            expected_position=seen,
        )
    assert store.projections.head() == head
    assert store.get(flag("kept")).stored == {"enabled": True}


def test_an_expected_position_past_the_log_head_is_refused(store: ConfigStore) -> None:
    """A forged or mangled position would pass "changed after it" for ever."""
    _seed(store)
    store.create_snapshot("prod", "before", actor="alice")
    store.set(flag("kept"), {"enabled": False}, provenance=who())
    head = store.projections.head()
    for command in (
        lambda: store.apply_document(
            doc(WANTED), environment="prod", provenance=who(), expected_position=head + 1
        ),
        lambda: store.restore("prod", "before", provenance=who(), expected_position=2**63 - 1),
    ):
        with pytest.raises(MalformedInputError) as refused:
            command()
        assert refused.value.name == "expected_position"
        assert f"beyond the last position in the log ({head})" in str(refused.value)
    assert store.projections.head() == head
    assert store.get(flag("kept")).stored == {"enabled": False}


@pytest.mark.parametrize("intruded", ["kept", "edited"])  # unchanged by / part of the plan
def test_a_write_between_plan_and_save_fails_an_expected_position(
    store: ConfigStore, monkeypatch: pytest.MonkeyPatch, intruded: str
) -> None:
    _seed(store)
    seen = store.projections.head()
    original = store.environment_at
    landed: list[WriteResult] = []

    def view_then_concurrent_write(environment: str, at: Any = None) -> Any:
        view = original(environment, at)
        if not landed:
            value = {"rollout_percent": store.get(flag(intruded)).version}  # new each time
            landed.append(store.set(flag(intruded), value, provenance=who()))
        return view

    monkeypatch.setattr(store, "environment_at", view_then_concurrent_write)
    with pytest.raises(VersionConflictError):
        store.apply_document(
            doc(WANTED), environment="prod", provenance=who(), expected_position=seen
        )
    # The guard refused the whole batch: only the concurrent write was appended.
    assert store.projections.head() == landed[0].position == seen + 1
    landed.clear()
    done = store.apply_document(doc(WANTED), environment="prod", provenance=who())
    assert done.base_position == landed[0].position  # replanned after the intruder
    assert store.get(flag(intruded)).stored == WANTED["feature_flag"][intruded]
    assert store.projections.head() == done.position == landed[0].position + len(done.changes)


def test_restore_replans_when_a_write_lands_between_plan_and_save(
    store: ConfigStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    point = _restore_fixture(store)["snapshot"]
    target = store.export("prod", point).entries
    intruder = Address("prod", "feature_flag", "f1")
    original = store.environment_at
    landed: list[WriteResult] = []

    def view_then_concurrent_write(environment: str, at: Any = None) -> Any:
        view = original(environment, at)
        if at is None and not landed:
            landed.append(store.set(intruder, {"rollout_percent": 77}, provenance=who("other")))
        return view

    monkeypatch.setattr(store, "environment_at", view_then_concurrent_write)
    head = store.projections.head()
    done = store.restore("prod", point, provenance=who("ops"))
    monkeypatch.undo()
    (write,) = landed
    assert write.position == head + 1
    assert done.base_position == write.position  # the first plan was thrown away
    assert store.projections.head() == done.position == write.position + len(done.changes)
    assert store.export("prod").entries == target
    assert store.get(intruder, version=write.version).stored == {"rollout_percent": 77}


def test_redacted_export_applied_to_its_environment_keeps_secrets(store: ConfigStore) -> None:
    store.set(OPENAI, provider(PLAINTEXT), provenance=who())
    store.set(flag("a"), {"enabled": True}, provenance=who())
    sealed = store.get(OPENAI).stored["keys"][0]["api_key"]
    redacted = store.export("prod")
    assert redacted.entries["provider"]["openai"]["keys"][0]["api_key"] == REDACTED
    full = store.export("prod", include_secrets=True)
    assert full.entries["provider"]["openai"]["keys"][0]["api_key"] == sealed
    head = store.projections.head()
    for document in (redacted, full, parse_document(redacted.to_json())):
        result = store.apply_document(document, environment="prod", provenance=who())
        assert (result.applied, result.changes) == (False, [])
    assert store.projections.head() == head
    assert store.get(OPENAI).stored["keys"][0]["api_key"] == sealed
    # Into an environment with nothing stored, the placeholder is an error naming the field.
    with pytest.raises(InvalidValueError) as caught:
        store.apply_document(redacted, environment="staging", provenance=who())
    assert [e.field for e in caught.value.errors] == ["entries.provider.openai.keys.0.api_key"]


def test_promote_copies_live_entries_with_their_secrets(store: ConfigStore) -> None:
    store.set(OPENAI, provider(PLAINTEXT), provenance=who())
    store.set(flag("a"), {"enabled": True}, provenance=who())
    store.set(flag("dead"), {}, provenance=who())
    store.delete(flag("dead"), provenance=who())
    store.set(flag("only_staging", "staging"), {}, provenance=who())
    plan = store.promote("prod", "staging", provenance=who(), dry_run=True)
    assert [(s.key, s.action) for s in plan.steps] == [("a", "create"), ("openai", "create")]
    done = store.promote("prod", "staging", provenance=who())
    assert done.applied and done.steps == plan.steps
    source = store.export("prod", include_secrets=True).entries
    target = store.export("staging", include_secrets=True).entries
    assert target == {**source, "feature_flag": {**source["feature_flag"], "only_staging": {}}}
    copied = store.get(Address("staging", "provider", "openai")).stored
    assert copied == store.get(OPENAI).stored  # same ciphertext: same store key
    assert store.revealed(copied, "prod", "provider")["keys"][0]["api_key"] == PLAINTEXT
    again = store.promote("prod", "staging", provenance=who())
    assert (again.applied, again.changes) == (False, [])
    pruned = store.promote("prod", "staging", provenance=who(), prune=True)
    assert [(s.key, s.action) for s in pruned.changes] == [("only_staging", "delete")]
    assert store.export("staging", include_secrets=True).entries == source


def test_secrets_never_in_plaintext(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    applied_secret = "sk-applied-SECRET-0815"
    store.set(OPENAI, provider(PLAINTEXT), provenance=who())
    store.create_snapshot("prod", "with-secret", actor="t")
    groq = {**provider(applied_secret), "provider_type": "groq"}
    result = store.apply_document(
        doc({"provider": {"groq": groq, "openai": provider("sk-rotated-NEW-1")}}),
        environment="prod",
        provenance=who(),
    )
    assert result.applied
    restored = store.restore("prod", "with-secret", provenance=who())
    promoted = store.promote("prod", "staging", provenance=who())
    store.apply_document(
        doc({"provider": {"groq": groq}}), environment="staging", provenance=who(), dry_run=True
    )
    exports = [
        store.export(env, point, include_secrets=include)
        for env in ("prod", "staging")
        for point in (None, "with-secret" if env == "prod" else None)
        for include in (False, True)
    ]
    store.projections.catch_up()
    assert (
        store.revealed(store.get(OPENAI).stored, "prod", "provider")["keys"][0]["api_key"]
        == PLAINTEXT
    )
    stored_groq = store.get(Address("prod", "provider", "groq"), version=1).stored
    assert is_sealed(stored_groq["keys"][0]["api_key"])
    dumped = dump_schema(db, schema)
    texts = [dumped, *(repr(d.to_json()) for d in exports)]
    texts += [repr([s.to_json() for s in r.steps]) for r in (result, restored, promoted)]
    for text in texts:
        for plaintext in (PLAINTEXT, applied_secret, "sk-rotated-NEW-1"):
            assert plaintext not in text
    assert "enc:v2:" in dumped
    assert "enc:v1:" not in repr([s.to_json() for s in result.steps])  # steps are redacted
