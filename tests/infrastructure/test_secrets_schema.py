"""The schema decides what is secret, and no answer tells a guesser whether a plaintext
equals a stored secret (store level; HTTP and the client runtime have their own tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from domain.address import Address
from domain.document import EnvDocument
from domain.entry import Provenance
from domain.secrets import REDACTED, is_sealed
from infrastructure.presenters import scheduled_json
from infrastructure.store import ConfigStore
from infrastructure.store.readmodels import AuditQuery
from tests.conftest import dump_schema

ENV = "prod"
OPENAI = Address(ENV, "provider", "openai")
SETTING = Address(ENV, "global_setting", "motd")
WHO = Provenance(actor="ops", source="api", correlation_id="c-schema")
PLAIN = "sk-live-schema-7f3a"
ORG = "enc:v1:abc"  # looks sealed, but organization is not a secret field
TEXT = "enc:v2:xx:yy"


def provider(api_key: str, *, organization: str = ORG) -> dict[str, Any]:
    key = {"name": "main", "api_key": api_key, "organization": organization}
    return {"provider_type": "openai", "keys": [key]}


def fill(store: ConfigStore) -> None:
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    store.set(SETTING, {"value": TEXT, "description": "enc:v1:"}, provenance=WHO)
    store.projections.catch_up()


def test_non_secret_text_is_stored_as_given(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    fill(store)
    stored = store.get(OPENAI).stored["keys"][0]
    assert stored["organization"] == ORG
    assert is_sealed(stored["api_key"]) and stored["api_key"] != ORG
    assert store.get(SETTING).stored == {"value": TEXT, "description": "enc:v1:"}
    assert PLAIN not in dump_schema(db, schema)


def test_non_secret_text_is_shown_as_given_everywhere(store: ConfigStore) -> None:
    fill(store)
    value = store.get(OPENAI).value
    shown = store.redacted(value, ENV, "provider")
    assert shown["keys"][0] == {**shown["keys"][0], "api_key": REDACTED, "organization": ORG}
    assert store.redacted(store.get(SETTING).value, ENV, "global_setting")["value"] == TEXT
    listed = {
        v.address.area: store.redacted(v.value, ENV, v.address.area)
        for v in store.listing(ENV, None).items
    }
    assert listed["provider"]["keys"][0]["organization"] == ORG
    assert listed["global_setting"]["value"] == TEXT
    exported = store.export(ENV).entries
    assert exported["provider"]["openai"]["keys"][0]["api_key"] == REDACTED
    assert exported["provider"]["openai"]["keys"][0]["organization"] == ORG
    assert exported["global_setting"]["motd"]["value"] == TEXT


def test_reveal_opens_only_the_secret(store: ConfigStore) -> None:
    fill(store)
    revealed = store.revealed(store.get(OPENAI).value, ENV, "provider")
    assert revealed["keys"][0]["api_key"] == PLAIN
    assert revealed["keys"][0]["organization"] == ORG
    setting = store.revealed(store.get(SETTING).value, ENV, "global_setting")
    assert setting["value"] == TEXT


def test_history_diff_and_audit_keep_non_secret_text(store: ConfigStore) -> None:
    fill(store)
    store.set(OPENAI, provider("sk-next", organization="enc:v1:def"), provenance=WHO)
    store.projections.catch_up()
    ops = store.redacted_ops(store.history(OPENAI)[-1].changes, ENV, "provider")
    assert ops == [
        {"op": "replace", "path": "/keys/0/api_key", "value": REDACTED},
        {"op": "replace", "path": "/keys/0/organization", "value": "enc:v1:def"},
    ]
    created = store.redacted_ops(store.history(OPENAI)[0].changes, ENV, "provider")
    assert created == [
        {"op": "add", "path": "/provider_type", "value": "openai"},
        {
            "op": "add",
            "path": "/keys",
            "value": [{"name": "main", "api_key": REDACTED, "organization": ORG}],
        },
    ]
    diff = store.redacted_ops(store.diff(OPENAI, 1, 2), ENV, "provider")
    assert {"op": "replace", "path": "/keys/0/organization", "value": "enc:v1:def"} in diff
    rows = store.audit(AuditQuery(environment=ENV))
    by_area = {(r.area, r.version): r.changes for r in rows}
    assert by_area["provider", 2] == ops
    assert by_area["provider", 1] == created
    assert by_area["global_setting", 1] == [
        {"op": "add", "path": "/value", "value": TEXT},
        {"op": "add", "path": "/description", "value": "enc:v1:"},
    ]
    assert PLAIN not in repr(rows) and "sk-next" not in repr(rows)
    for changes in by_area.values():
        for op in changes:
            if op["path"].endswith("api_key"):
                assert op["value"] == REDACTED


def test_plan_steps_redact_by_schema(store: ConfigStore) -> None:
    fill(store)
    wanted = provider(REDACTED, organization="enc:v2:k:new")
    document = EnvDocument(ENV, {"provider": {"openai": wanted}})
    result = store.apply_document(document, environment=ENV, provenance=WHO, dry_run=True)
    (step,) = result.steps
    assert step.changes == [
        {"op": "replace", "path": "/keys/0/organization", "value": "enc:v2:k:new"}
    ]


def test_same_plaintext_is_a_change_for_who_may_not_reveal(store: ConfigStore) -> None:
    fill(store)
    before = store.get(OPENAI)
    again = store.set(OPENAI, provider(PLAIN), provenance=WHO)
    assert again.changed is True and again.version == before.version + 1
    after = store.get(OPENAI)
    assert after.stored["keys"][0]["api_key"] != before.stored["keys"][0]["api_key"]
    assert store.revealed(after.value, ENV, "provider")["keys"][0]["api_key"] == PLAIN
    patched = store.patch(OPENAI, {"keys": provider(PLAIN)["keys"]}, provenance=WHO)
    assert patched.changed is True
    kept = store.set(OPENAI, provider(PLAIN), provenance=WHO, may_reveal=True)
    assert kept.changed is False
    assert (
        store.patch(
            OPENAI, {"keys": provider(PLAIN)["keys"]}, provenance=WHO, may_reveal=True
        ).changed
        is False
    )


def _plan(store: ConfigStore, api_key: str, *, may_reveal: bool = False) -> list[Any]:
    document = EnvDocument(ENV, {"provider": {"openai": provider(api_key)}})
    result = store.apply_document(
        document, environment=ENV, provenance=WHO, dry_run=True, may_reveal=may_reveal
    )
    return [c.to_json() for c in result.steps]


def test_plan_answers_a_right_guess_like_a_wrong_one(store: ConfigStore) -> None:
    fill(store)
    right, wrong = _plan(store, PLAIN), _plan(store, "sk-wrong-guess")
    assert right == wrong
    assert right[0]["action"] == "update"
    assert PLAIN not in repr(right)
    # Who may reveal the secret anyway is told the truth.
    assert _plan(store, PLAIN, may_reveal=True)[0]["action"] == "unchanged"
    assert _plan(store, "sk-wrong-guess", may_reveal=True)[0]["action"] == "update"


def test_apply_of_same_plaintext_is_a_change(store: ConfigStore) -> None:
    fill(store)
    document = EnvDocument(ENV, {"provider": {"openai": provider(PLAIN)}})
    result = store.apply_document(document, environment=ENV, provenance=WHO)
    assert result.applied and [c.action for c in result.changes] == ["update"]
    again = store.apply_document(document, environment=ENV, provenance=WHO, may_reveal=True)
    assert not again.applied


def test_scheduled_same_plaintext_is_a_change_when_applied(store: ConfigStore) -> None:
    fill(store)
    version = store.get(OPENAI).version
    due = datetime.now(UTC) + timedelta(hours=1)
    view = store.schedule_change(OPENAI, "set", provider(PLAIN), due_at=due, provenance=WHO)
    shown = scheduled_json(view, store.secret_schema(ENV, "provider"))
    assert shown["value"]["keys"][0] == {"name": "main", "api_key": REDACTED, "organization": ORG}
    store.apply_due_changes(now=due + timedelta(seconds=1))
    assert store.get(OPENAI).version == version + 1
    admin = store.schedule_change(
        OPENAI, "set", provider(PLAIN), due_at=due, provenance=WHO, may_reveal=True
    )
    assert admin.change.value is not None
    stored = store.get(OPENAI).stored["keys"][0]["api_key"]
    assert admin.change.value["keys"][0]["api_key"] == stored


def test_unknown_schema_redacts_anything_sealed_looking(store: ConfigStore) -> None:
    assert store.secret_schema(ENV, "no_such_area") is None
    assert store.redacted({"a": ORG, "b": "x"}, ENV, "no_such_area") == {"a": REDACTED, "b": "x"}
    assert store.revealed({"a": ORG}, ENV, "no_such_area") == {"a": REDACTED}
    assert store.secret_schema("_system", "scheduled_change") is None
